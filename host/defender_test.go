package host

import (
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func tcpAddr(s string) net.Addr {
	return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s))
}

// The score model: failed logins cost LoginScore, protocol errors
// ProtocolScore, the threshold bans, the ban ends, and the next ban is
// longer.
func TestDefenderScoresAndBans(t *testing.T) {
	d := NewDefender(DefenderConfig{Threshold: 5, LoginScore: 2, ProtocolScore: 1,
		BanTime: 150 * time.Millisecond, BanGrowth: 2, LoginDelay: -1})
	var events []DefenderEvent
	got := make(chan DefenderEvent, 10)
	d.observeOnce(func(e DefenderEvent) { got <- e })
	a := tcpAddr("192.0.2.1:1000")
	other := tcpAddr("192.0.2.2:1000")
	if d.record(a, true) != 0 || d.record(a, true) != 0 || d.record(a, false) == 0 {
		t.Fatal("2+2+1 did not ban at threshold 5")
	}
	if _, ok := d.Banned(tcpAddr("192.0.2.1:2222")); !ok {
		t.Fatal("banned address (another port) not refused")
	}
	if _, ok := d.Banned(other); ok {
		t.Fatal("another address is banned too")
	}
	events = append(events, <-got)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok := d.Banned(a); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the ban did not end")
		}
		time.Sleep(10 * time.Millisecond)
	}
	events = append(events, <-got)
	// The second ban is BanGrowth times the first.
	for range 3 {
		d.record(a, true)
	}
	events = append(events, <-got)
	if !events[0].Ban || events[1].Ban || !events[2].Ban {
		t.Fatalf("events %+v, want ban, end, ban", events)
	}
	if events[0].For != 150*time.Millisecond || events[2].For != 300*time.Millisecond || events[2].Count != 2 {
		t.Fatalf("ban lengths %v then %v (count %d), want 150ms then 300ms (count 2)", events[0].For, events[2].For, events[2].Count)
	}
	if !d.Unban("192.0.2.1") {
		t.Fatal("Unban found no ban")
	}
	if _, ok := d.Banned(a); ok {
		t.Fatal("still banned after Unban")
	}
}

// Events older than the window do not count.
func TestDefenderWindowForgets(t *testing.T) {
	d := NewDefender(DefenderConfig{Threshold: 4, LoginScore: 2, Window: 100 * time.Millisecond, LoginDelay: -1})
	a := tcpAddr("192.0.2.1:1")
	d.record(a, true)
	time.Sleep(150 * time.Millisecond) // let the window pass: the point of the test
	if d.record(a, true) != 0 {
		t.Fatal("an event outside the window still counted")
	}
	if d.record(a, true) == 0 {
		t.Fatal("two failures within the window did not ban")
	}
}

// The delay doubles with each failed login within the window, up to the
// cap; protocol errors do not lengthen it.
func TestDefenderLoginDelayGrows(t *testing.T) {
	d := NewDefender(DefenderConfig{Threshold: 100, LoginDelay: 10 * time.Millisecond, MaxLoginDelay: 50 * time.Millisecond})
	a := tcpAddr("192.0.2.1:1")
	var got []time.Duration
	for range 5 {
		got = append(got, d.loginDelay(a))
		d.record(a, true)
		d.record(a, false)
	}
	want := []time.Duration{10, 20, 40, 50, 50}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("delays %v, want %v ms", got, want)
		}
	}
	if d := d.loginDelay(tcpAddr("192.0.2.9:1")); d != 10*time.Millisecond {
		t.Fatalf("another address waits %v", d)
	}
}

// The allow list is never scored; IPv6 counts by /64; the off switch
// does nothing.
func TestDefenderAllowListAndV6(t *testing.T) {
	d := NewDefender(DefenderConfig{Threshold: 2, LoginScore: 2,
		AllowList: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if d.record(tcpAddr("10.1.2.3:1"), true) != 0 || d.loginDelay(tcpAddr("10.1.2.3:1")) != 0 {
		t.Fatal("an allow-listed address was scored or delayed")
	}
	if d.record(tcpAddr("[2001:db8::1]:1"), true) == 0 {
		t.Fatal("no ban")
	}
	if _, ok := d.Banned(tcpAddr("[2001:db8::ffff]:2")); !ok {
		t.Fatal("another address of the banned /64 is not refused")
	}
	if _, ok := d.Banned(tcpAddr("[2001:db8:0:1::1]:2")); ok {
		t.Fatal("the next /64 is refused too")
	}
	off := NewDefender(DefenderConfig{Threshold: -1})
	if off.record(tcpAddr("192.0.2.1:1"), true) != 0 || off.loginDelay(tcpAddr("192.0.2.1:1")) != 0 {
		t.Fatal("a defender with a negative threshold acted")
	}
}

// Many addresses cannot grow the defender beyond MaxHosts.
func TestDefenderBounded(t *testing.T) {
	d := NewDefender(DefenderConfig{Threshold: 1000, MaxHosts: 100, LoginDelay: -1})
	for i := range 5000 {
		d.record(tcpAddr("10."+strconv.Itoa(i>>16&255)+"."+strconv.Itoa(i>>8&255)+"."+strconv.Itoa(i&255)+":1"), true)
	}
	d.mu.Lock()
	n := len(d.hosts)
	d.mu.Unlock()
	if n > 100 {
		t.Fatalf("the defender holds %d addresses, want at most 100", n)
	}
}
