package host

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defender defaults: SFTPGo's score model with its numbers, plus a delay
// before each failed login's answer.
const (
	// DefaultBanThreshold is the score at which an address is banned:
	// 8 failed logins (2 points each) within the window.
	DefaultBanThreshold = 15
	// DefaultLoginScore is what a failed login costs. A wrong password
	// and an unknown user cost the same: counting them apart would let a
	// guesser learn which names exist from when the ban comes.
	DefaultLoginScore = 2
	// DefaultProtocolScore is what a connection that breaks the protocol,
	// sends a request, or times out before logging in costs.
	DefaultProtocolScore = 1
	// DefaultScoreWindow is how long a scored event counts.
	DefaultScoreWindow = 30 * time.Minute
	// DefaultBanTime is the first ban's length; each further ban of the
	// same address within DefaultBanMemory is BanGrowth times longer.
	DefaultBanTime = 30 * time.Minute
	// DefaultBanGrowth multiplies each repeated ban (SFTPGo's +50%).
	DefaultBanGrowth = 1.5
	// DefaultMaxBanTime caps a ban's length.
	DefaultMaxBanTime = 24 * time.Hour
	// DefaultLoginDelay is the wait before the first failed login's
	// answer; it doubles with each further failure within the window.
	DefaultLoginDelay = 200 * time.Millisecond
	// DefaultMaxLoginDelay caps that wait; below the hello timeout, or
	// the timeout would answer a guesser instead.
	DefaultMaxLoginDelay = 4 * time.Second
	// DefaultDefenderHosts bounds the addresses the defender remembers
	// (about 100 bytes each): an attacker with many addresses cannot grow
	// it without bound.
	DefaultDefenderHosts = 10000
)

// banMemory is how long an address's past bans make its next one longer.
const banMemory = 24 * time.Hour

// DefenderConfig sets a Defender's numbers; a zero field means its
// Default constant.
type DefenderConfig struct {
	// Threshold is the score that bans an address (negative: never ban,
	// nor delay: the defender is off).
	Threshold int
	// LoginScore and ProtocolScore are what a failed login and a
	// protocol error before the login cost.
	LoginScore, ProtocolScore int
	// Window is how long a scored event counts toward the threshold.
	Window time.Duration
	// BanTime is the first ban's length, BanGrowth the factor of each
	// repeat (at least 1), MaxBanTime the longest ban.
	BanTime    time.Duration
	BanGrowth  float64
	MaxBanTime time.Duration
	// LoginDelay is the wait before answering the first failed login of
	// an address within the window, doubling with each further one up to
	// MaxLoginDelay (negative LoginDelay: no wait).
	LoginDelay, MaxLoginDelay time.Duration
	// AllowList holds addresses never scored, delayed or banned.
	AllowList []netip.Prefix
	// MaxHosts bounds the addresses remembered.
	MaxHosts int
}

// DefenderEvent tells a Defender's observer (see Server.Audit) that a ban
// started or ended.
type DefenderEvent struct {
	IP    string        // the address (an IPv6 one by its /64)
	Ban   bool          // true: a ban started; false: it ended
	For   time.Duration // the ban's length
	Count int           // how many bans this address has had lately, this one included
}

// Defender scores the failed logins and protocol errors of each client
// address in a sliding window; failed logins are answered after a
// growing delay, and an address whose score reaches the threshold is
// banned for a time that grows with each ban. A banned address is refused
// at accept. One Defender may serve several Servers; it is safe for
// concurrent use and never blocks longer than a map lookup.
type Defender struct {
	cfg DefenderConfig

	mu      sync.Mutex
	hosts   map[string]*hostScore
	banned  atomic.Int32 // bans in force: accept skips the lock while 0
	observe atomic.Pointer[func(DefenderEvent)]
}

// hostScore is what the defender keeps of one address.
type hostScore struct {
	events  []scored  // within the window, oldest first
	until   time.Time // banned until; zero: not banned
	bans    int       // bans within banMemory
	lastBan time.Time // when the last ban started
}

// scored is one scored event.
type scored struct {
	at    time.Time
	score int
	login bool // a failed login (the delay counts these)
}

// NewDefender returns a Defender with cfg's numbers.
func NewDefender(cfg DefenderConfig) *Defender {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	noDelay := cfg.LoginDelay < 0
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultBanThreshold
	}
	def(&cfg.LoginScore, DefaultLoginScore)
	def(&cfg.ProtocolScore, DefaultProtocolScore)
	def(&cfg.MaxHosts, DefaultDefenderHosts)
	defD(&cfg.Window, DefaultScoreWindow)
	defD(&cfg.BanTime, DefaultBanTime)
	defD(&cfg.MaxBanTime, DefaultMaxBanTime)
	if !noDelay {
		defD(&cfg.LoginDelay, DefaultLoginDelay)
	}
	defD(&cfg.MaxLoginDelay, DefaultMaxLoginDelay)
	if cfg.BanGrowth < 1 {
		cfg.BanGrowth = DefaultBanGrowth
	}
	return &Defender{cfg: cfg, hosts: map[string]*hostScore{}}
}

// off reports whether the defender does nothing.
func (d *Defender) off() bool { return d == nil || d.cfg.Threshold < 0 }

// defenderKey is an address's key and whether the allow list spares it.
// IPv6 counts by /64, as the per-IP connection limit does: one host
// commonly holds a whole /64.
func (d *Defender) defenderKey(a net.Addr) (string, bool) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String(), false
	}
	ip := ap.Addr().Unmap().WithZone("")
	for _, p := range d.cfg.AllowList {
		if p.Contains(ip) {
			return "", false
		}
	}
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String(), true
		}
	}
	return ip.String(), true
}

// Banned reports whether the address (as net.Addr's String gives it:
// "ip:port") is banned now, and until when.
func (d *Defender) Banned(addr net.Addr) (until time.Time, ok bool) {
	if d.off() || d.banned.Load() == 0 {
		return time.Time{}, false // the common case costs no lock
	}
	key, ok := d.defenderKey(addr)
	if !ok {
		return time.Time{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[key]
	if h == nil || h.until.IsZero() || !time.Now().Before(h.until) {
		return time.Time{}, false
	}
	return h.until, true
}

// Unban lifts a ban on ip (an address, or an IPv6 /64 as "p::/64") and
// forgets its score; it reports whether there was one.
func (d *Defender) Unban(ip string) bool {
	if d.off() {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.hosts[ip]
	if h == nil {
		return false
	}
	if !h.until.IsZero() {
		d.banned.Add(-1)
	}
	delete(d.hosts, ip)
	return !h.until.IsZero()
}

// loginDelay is how long to wait before answering the failed login that
// addr is about to be scored for: LoginDelay doubled for each failed
// login already counted in the window, at most MaxLoginDelay.
func (d *Defender) loginDelay(addr net.Addr) time.Duration {
	if d.off() || d.cfg.LoginDelay < 0 {
		return 0
	}
	key, ok := d.defenderKey(addr)
	if !ok {
		return 0
	}
	d.mu.Lock()
	n := 0
	if h := d.hosts[key]; h != nil {
		cut := time.Now().Add(-d.cfg.Window)
		for _, e := range h.events {
			if e.login && e.at.After(cut) {
				n++
			}
		}
	}
	d.mu.Unlock()
	delay := float64(d.cfg.LoginDelay) * math.Pow(2, float64(min(n, 30)))
	return time.Duration(min(delay, float64(d.cfg.MaxLoginDelay)))
}

// record scores a failed login (login) or a protocol error for addr and
// bans the address when its score reaches the threshold; it returns the
// ban's length (0: no ban now).
func (d *Defender) record(addr net.Addr, login bool) time.Duration {
	if d.off() {
		return 0
	}
	key, ok := d.defenderKey(addr)
	if !ok {
		return 0
	}
	score := d.cfg.ProtocolScore
	if login {
		score = d.cfg.LoginScore
	}
	now := time.Now()
	d.mu.Lock()
	h := d.hosts[key]
	if h == nil {
		if len(d.hosts) >= d.cfg.MaxHosts {
			d.prune(now)
		}
		h = &hostScore{}
		d.hosts[key] = h
	}
	if !h.until.IsZero() {
		d.mu.Unlock()
		return 0 // banned already: a connection that was open before the ban
	}
	cut := now.Add(-d.cfg.Window)
	i := 0
	for i < len(h.events) && !h.events[i].at.After(cut) {
		i++
	}
	h.events = append(h.events[i:], scored{at: now, score: score, login: login})
	total := 0
	for _, e := range h.events {
		total += e.score
	}
	if total < d.cfg.Threshold {
		d.mu.Unlock()
		return 0
	}
	if now.Sub(h.lastBan) > banMemory {
		h.bans = 0
	}
	h.bans++
	length := float64(d.cfg.BanTime) * math.Pow(d.cfg.BanGrowth, float64(min(h.bans-1, 60)))
	ban := time.Duration(min(length, float64(d.cfg.MaxBanTime)))
	h.events, h.until, h.lastBan = nil, now.Add(ban), now
	until, count := h.until, h.bans
	d.banned.Add(1)
	d.mu.Unlock()
	d.notify(DefenderEvent{IP: key, Ban: true, For: ban, Count: count})
	time.AfterFunc(ban, func() { d.expire(key, until) })
	return ban
}

// expire ends the ban of key that was to last until until, unless an
// Unban (or a later ban) replaced it.
func (d *Defender) expire(key string, until time.Time) {
	d.mu.Lock()
	h := d.hosts[key]
	if h == nil || !h.until.Equal(until) {
		d.mu.Unlock()
		return
	}
	h.until = time.Time{}
	d.banned.Add(-1)
	ban, count := until.Sub(h.lastBan), h.bans
	d.mu.Unlock()
	d.notify(DefenderEvent{IP: key, For: ban, Count: count})
}

// prune makes room (d.mu held): it forgets addresses with nothing in the
// window, no ban and no recent one; if that is not enough, any address
// not banned, then any, down to nine tenths of MaxHosts. Map order is
// random, so an attacker cannot pick which are forgotten.
func (d *Defender) prune(now time.Time) {
	cut := now.Add(-d.cfg.Window)
	for k, h := range d.hosts {
		if h.until.IsZero() && now.Sub(h.lastBan) > banMemory &&
			(len(h.events) == 0 || !h.events[len(h.events)-1].at.After(cut)) {
			delete(d.hosts, k)
		}
	}
	keep := d.cfg.MaxHosts * 9 / 10
	for _, bannedToo := range []bool{false, true} {
		for k, h := range d.hosts {
			if len(d.hosts) <= keep {
				return
			}
			if !h.until.IsZero() {
				if !bannedToo {
					continue
				}
				d.banned.Add(-1)
			}
			delete(d.hosts, k)
		}
	}
}

// notify tells the observer, if any, of a ban's start or end.
func (d *Defender) notify(e DefenderEvent) {
	if f := d.observe.Load(); f != nil {
		(*f)(e)
	}
}

// observeOnce sets the observer unless one is set (a Defender shared by
// Servers reports to the first).
func (d *Defender) observeOnce(f func(DefenderEvent)) {
	d.observe.CompareAndSwap(nil, &f)
}

// banMessage is what a banned client is told.
func banMessage(until time.Time) string {
	left := time.Until(until).Round(time.Second)
	if left < time.Second {
		left = time.Second
	}
	return fmt.Sprintf("too many failed logins from your address; try again in %v", left)
}
