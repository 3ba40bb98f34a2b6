package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// The ftp workload: the same client, curl, against selectftpd's FTP front
// (--ftp-listen, anonymous on loopback) and against pure-ftpd, a --size
// get (to /dev/null) and put (from the tmpfs file), in interleaved rounds.
// Each run is timed by curl's own clock from the end of its setup (login,
// EPSV, data connection) to the transfer's final reply, as the pure-ftpd
// rows above: the 226 of a STOR comes after the server made the file
// visible, so put's commit is counted on both sides. Target ≥ 1.0× both.

// ftpFrontFigures are the ftp workload's MB/s.
type ftpFrontFigures struct {
	frontGet, frontPut, pureGet, purePut float64
}

// startFTPFront starts a selectftpd with the FTP front on a free loopback
// port and returns it and the front's base URL (anonymous).
func (b *bench) startFTPFront(ctx context.Context) (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	ftpAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c, _, err := b.startSelectftpd(ctx, "selectftpd-ftp", "--ftp-listen", ftpAddr)
	if err != nil {
		return nil, "", err
	}
	// The native side answered; the front listens from the same start.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err = banner(ftpAddr); err == nil {
			return c, "ftp://" + ftpAddr + "/", nil
		}
		if c.exited() || time.Now().After(deadline) || ctx.Err() != nil {
			b.procs.stop(c)
			return nil, "", fmt.Errorf("the FTP front did not come up (see selectftpd-ftp.log): %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// measureFTPFront runs the ftp workload.
func (b *bench) measureFTPFront(ctx context.Context) error {
	if b.cfg.noFTP {
		return fmt.Errorf("the ftp workload needs pure-ftpd and curl (drop --no-ftp)")
	}
	size := b.cfg.size
	pure, pureURL, err := b.startFTPAt(ctx, loopbackFTP, "pure-ftpd-ftp", 8)
	if err != nil {
		return err
	}
	defer b.procs.stop(pure)
	front, frontURL, err := b.startFTPFront(ctx)
	if err != nil {
		return err
	}
	defer b.procs.stop(front)
	get := func(label, url string) *contender {
		return &contender{label: label, run: func(int) (float64, error) {
			t, err := runCurl(ctx, url+"big.bin", "", size)
			return mbps(size, t.total-t.pretransfer), err
		}}
	}
	put := func(label, url, root string) *contender {
		return &contender{label: label, run: func(i int) (float64, error) {
			name := fmt.Sprintf("ftp-up-%d.bin", i+1)
			defer os.Remove(filepath.Join(root, name))
			t, err := runCurl(ctx, url+name, b.big, size)
			return mbps(size, t.total-t.pretransfer), checkSize(filepath.Join(root, name), size, err)
		}}
	}
	gets := []*contender{get("FTP front get (curl)", frontURL), get("pure-ftpd get (curl)", pureURL)}
	puts := []*contender{put("FTP front put (curl)", frontURL, b.sfRoot), put("pure-ftpd put (curl)", pureURL, b.ftpRoot)}
	if err := b.rounds(gets...); err != nil {
		return err
	}
	f := &b.fig.ftpFront
	f.frontGet, f.pureGet = pick(gets[0].vals, b.cfg.pick), pick(gets[1].vals, b.cfg.pick)
	if err := b.rounds(puts...); err != nil {
		return err
	}
	f.frontPut, f.purePut = pick(puts[0].vals, b.cfg.pick), pick(puts[1].vals, b.cfg.pick)
	return nil
}

// ftpFrontRows are the ftp workload's lines of the table.
func (b *bench) ftpFrontRows() []row {
	f, size := b.fig.ftpFront, humanSize(b.cfg.size)
	return []row{
		throughputRow(size+" get, curl: selectftpd FTP front vs pure-ftpd", f.frontGet, f.pureGet, "pure-ftpd + curl", 1.0),
		throughputRow(size+" put, curl: selectftpd FTP front vs pure-ftpd", f.frontPut, f.purePut, "pure-ftpd + curl", 1.0),
	}
}

// ftpFrontNote says how the ftp rows were made, for the report's header.
const ftpFrontNote = "- FTP front rows: curl (EPSV, binary) against `selectftpd --ftp-listen` (anonymous, loopback) and against pure-ftpd, in turn; curl's time_total − time_pretransfer; get to /dev/null, put from the tmpfs file, its 226 after the server made the file visible\n"
