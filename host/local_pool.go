package host

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// plainPerAddr is how many plain password checks one address (an IPv6
// /64) may run or queue at once. Two keep a legitimate client's parallel
// logins (lftp, a script of curls) moving, one after another, while a
// guesser gets at most one check past the defender's threshold before its
// ban (the other slot's), and never more than two of the queue's places.
const plainPerAddr = 2

// passwordPool bounds the PBKDF2 runs of plain logins in the process: they
// are pure CPU (about 0.1 s each at the default count), so more at once
// than the cores only makes each slower, and a flood must leave cores to
// the transfers. At most queue logins wait; beyond, a login is told busy
// rather than holding a front's goroutine for minutes. Before the queue,
// each address passes a gate of perAddr places (enter), so one address
// cannot fill the queue and its guesses meet the defender one by one.
type passwordPool struct {
	sem     chan struct{}
	waiting chan struct{}
	verify  func(c scram.StoredCredentials, password string) bool // auth.CheckPassword; tests count the runs

	perAddr int
	mu      sync.Mutex
	addrs   map[string]*addrGate // only addresses with a login under way
	gated   atomic.Int32         // logins waiting at a full gate (tests watch it)
}

// addrGate is one address's places; refs counts the logins holding or
// waiting for one, so the entry goes when the last leaves.
type addrGate struct {
	sem  chan struct{}
	refs int
}

// plainPool is the process's: half the cores, at least one.
var plainPool = newPasswordPool(max(1, runtime.GOMAXPROCS(0)/2), 256)

func newPasswordPool(size, queue int) *passwordPool {
	return &passwordPool{sem: make(chan struct{}, size), waiting: make(chan struct{}, queue),
		verify: auth.CheckPassword, perAddr: plainPerAddr, addrs: map[string]*addrGate{}}
}

// enter takes one of addr's places, waiting while addr has perAddr logins
// under way (until ctx ends); release gives it back. The map holds only
// addresses with logins under way, so it is bounded by the callers.
func (p *passwordPool) enter(ctx context.Context, addr string) (release func(), err error) {
	p.mu.Lock()
	g := p.addrs[addr]
	if g == nil {
		g = &addrGate{sem: make(chan struct{}, p.perAddr)}
		p.addrs[addr] = g
	}
	g.refs++
	p.mu.Unlock()
	leave := func() {
		p.mu.Lock()
		if g.refs--; g.refs == 0 {
			delete(p.addrs, addr)
		}
		p.mu.Unlock()
	}
	select {
	case g.sem <- struct{}{}:
	default:
		p.gated.Add(1)
		select {
		case g.sem <- struct{}{}:
			p.gated.Add(-1)
		case <-ctx.Done():
			p.gated.Add(-1)
			leave()
			return nil, ctx.Err()
		}
	}
	var once sync.Once
	return func() { once.Do(func() { <-g.sem; leave() }) }, nil
}

// check runs the password check when a slot is free.
func (p *passwordPool) check(ctx context.Context, c scram.StoredCredentials, password string) (bool, error) {
	select {
	case p.waiting <- struct{}{}:
	default:
		return false, sdk.Errorf(protocol.CodeBusy, "too many logins at once; try again later")
	}
	defer func() { <-p.waiting }()
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-p.sem }()
	return p.verify(c, password), nil
}
