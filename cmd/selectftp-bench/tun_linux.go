package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// tunMTU is the delay line's MTU, an Ethernet's. The devices take TCP
// segmentation offload, as a veth pair does, so TCP hands them packets of
// up to 64 KiB that the line moves whole (and, like netem on a veth, drops
// whole); each comes with a virtio-net header, read and written unchanged.
// Without offload every 1,448 bytes would cost the line two system calls,
// and it would cap the path near 50 MB/s on two cores.
const (
	tunMTU = 1500
	tunBuf = 1<<16 + 1024 // the largest offloaded packet and its header
)

// openTun makes a TUN device (IP packets after a virtio-net header, with
// checksum and TCP segmentation offload) in the bench's namespace. The
// device lives while the file is open, wherever it is moved to.
func openTun(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI | unix.IFF_VNET_HDR)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err == nil {
		err = unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, unix.TUN_F_CSUM|unix.TUN_F_TSO4|unix.TUN_F_TSO6)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, err)
	}
	// Non-blocking, so the runtime's poller serves its reads and Close
	// wakes a blocked one.
	return os.NewFile(uintptr(fd), "tun:"+name), nil
}

// startDelayLine joins the namespaces with two TUN devices and copies
// packets between them in this process: server → client after srv's delay
// and loss, client → server after cli's. n.stop stops it.
func (n *wanNet) startDelayLine(ctx context.Context, srv, cli string) error {
	sp, err := parseNetem(srv)
	if err != nil {
		return err
	}
	cp, err := parseNetem(cli)
	if err != nil {
		return err
	}
	sf, err := openTun(n.srvDev)
	if err != nil {
		return err
	}
	cf, err := openTun(n.cliDev)
	if err != nil {
		sf.Close()
		return err
	}
	var wg sync.WaitGroup
	var dropped atomic.Int64
	n.stop = func() {
		sf.Close()
		cf.Close()
		wg.Wait()
	}
	cmds := n.linkCmds()
	for _, c := range [][2]string{{n.srvNS, n.srvDev}, {n.cliNS, n.cliDev}} {
		cmds = append(cmds, []string{"ip", "-n", c[0], "link", "set", c[1], "mtu", fmt.Sprint(tunMTU)})
	}
	if err := runCmds(ctx, cmds); err != nil {
		return err
	}
	wg.Go(func() { delayLine(sf, cf, sp, &dropped) })
	wg.Go(func() { delayLine(cf, sf, cp, &dropped) })
	n.emulator = fmt.Sprintf("the bench's userspace delay line over TUN devices, MTU %d with segmentation offload as on a veth (this kernel has no netem)", tunMTU)
	return nil
}

// packet is one IP packet on its way, due at a time.
type packet struct {
	b   *[]byte
	n   int
	due time.Time
}

var packetBufs = sync.Pool{New: func() any { b := make([]byte, tunBuf); return &b }}

// delayLine reads packets from from and writes them to to after p.delay,
// dropping each with probability p.loss and, like netem, any beyond
// p.limit waiting. The delay is constant, so the queue stays in order. It
// returns when from is closed.
func delayLine(from, to *os.File, p netemProfile, dropped *atomic.Int64) {
	q := make(chan packet, p.limit)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for pk := range q {
			if d := time.Until(pk.due); d > 0 {
				time.Sleep(d)
			}
			to.Write((*pk.b)[:pk.n]) // a closed device ends the run below
			packetBufs.Put(pk.b)
		}
	}()
	for {
		b := packetBufs.Get().(*[]byte)
		k, err := from.Read(*b)
		if err != nil {
			packetBufs.Put(b)
			break
		}
		if p.loss > 0 && rand.Float64() < p.loss {
			dropped.Add(1)
			packetBufs.Put(b)
			continue
		}
		select {
		case q <- packet{b: b, n: k, due: time.Now().Add(p.delay)}:
		default: // queue full: tail drop
			dropped.Add(1)
			packetBufs.Put(b)
		}
	}
	close(q)
	<-done
}
