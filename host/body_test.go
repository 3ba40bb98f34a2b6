package host

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/protocol"
)

// TestBodyBuf drives the bounded buffer through writes, reads and the ends
// a body can have, checking room, the resume call and what the reader gets.
func TestBodyBuf(t *testing.T) {
	type op struct {
		write    string // the loop stores this (it must fit)
		read     int    // the command reads up to this many bytes
		wantRead string
		end      bool  // End frame
		fail     error // the connection went away
		finish   bool  // the command returned
	}
	boom := errors.New("boom")
	tests := []struct {
		name        string
		size        int
		ops         []op
		wantRoom    int
		wantResumes int
		wantStalled bool
		wantErr     error // what a further read returns, nil: don't read
	}{
		{name: "empty has room", size: 8, wantRoom: 8},
		{name: "write then read", size: 8, ops: []op{{write: "abc"}, {read: 8, wantRead: "abc"}}, wantRoom: 8},
		{name: "full: no room and stalled", size: 4, ops: []op{{write: "abcd"}}, wantRoom: 0, wantStalled: true},
		{name: "wraps around", size: 4, ops: []op{{write: "abc"}, {read: 2, wantRead: "ab"}, {write: "de"},
			{read: 4, wantRead: "cd"}, {read: 4, wantRead: "e"}}, wantRoom: 4},
		{name: "resume once half is free", size: 4, ops: []op{{write: "abcd"}, {read: 0}, {read: 1, wantRead: "a"},
			{read: 1, wantRead: "b"}}, wantRoom: 2, wantResumes: 1},
		{name: "end after the bytes", size: 8, ops: []op{{write: "ab"}, {end: true}, {read: 8, wantRead: "ab"}}, wantRoom: 8, wantErr: io.EOF},
		{name: "failure after the bytes", size: 8, ops: []op{{write: "ab"}, {fail: boom}, {read: 8, wantRead: "ab"}},
			wantRoom: int(^uint(0) >> 1), wantErr: boom},
		{name: "finished: discard mode", size: 4, ops: []op{{write: "abcd"}, {finish: true}, {write: "efgh"}},
			wantRoom: int(^uint(0) >> 1), wantErr: io.EOF},
		{name: "finish resumes a waiting loop", size: 4, ops: []op{{write: "abcd"}, {read: 0}, {finish: true}},
			wantRoom: int(^uint(0) >> 1), wantResumes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resumes := 0
			b := newBodyBuf(tt.size, func() { resumes++ })
			for _, o := range tt.ops {
				switch {
				case o.write != "":
					b.write([]byte(o.write))
				case o.end:
					b.end(protocol.Trailer{}, nil)
				case o.fail != nil:
					b.end(protocol.Trailer{}, o.fail)
				case o.finish:
					b.finish()
				case o.read == 0:
					b.room() // the loop looks, finds none, waits
				default:
					p := make([]byte, o.read)
					n, err := readBuf(b, p)
					if err != nil || string(p[:n]) != o.wantRead {
						t.Fatalf("Read = %q, %v; want %q", p[:n], err, o.wantRead)
					}
				}
			}
			if s := b.stalled(); s != tt.wantStalled {
				t.Errorf("stalled = %v, want %v", s, tt.wantStalled)
			}
			if r := b.room(); r != tt.wantRoom {
				t.Errorf("room = %d, want %d", r, tt.wantRoom)
			}
			if resumes != tt.wantResumes {
				t.Errorf("onRoom called %d times, want %d", resumes, tt.wantResumes)
			}
			if tt.wantErr != nil {
				if _, err := readBuf(b, make([]byte, 1)); err != tt.wantErr {
					t.Errorf("final Read error %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
}

// readBuf reads from b as a command's Read would, without the digest.
func readBuf(b *bodyBuf, p []byte) (int, error) {
	seg, err := b.next(len(p))
	if err == errBodyFinished {
		return 0, io.EOF
	}
	if err != nil {
		return 0, err
	}
	c := copy(p, seg)
	return c, b.release(c)
}

// TestRequestBodyToFile: the upload fast path writes the body into a file
// through a small buffer, at an offset and with a limit, and reports the
// digest of what it wrote, in the request's algorithm.
func TestRequestBodyToFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 1000) // 16,000 bytes through a 1 KiB buffer
	for _, limit := range []int64{-1, int64(len(data)), 100} {
		buf := newBodyBuf(1<<10, func() {})
		progress := 0
		body := newRequestBody(buf, checksum.SHA256, func() { progress++ }, nil)
		go func() { // the loop
			for rest := data; len(rest) > 0; {
				if n := min(len(rest), buf.room()); n > 0 {
					buf.write(rest[:n])
					rest = rest[n:]
				} else {
					runtime.Gosched() // the reader frees room
				}
			}
			whole := sha256.Sum256(data)
			buf.end(protocol.Trailer{Digest: hex.EncodeToString(whole[:])}, nil)
		}()
		f, err := os.Create(filepath.Join(t.TempDir(), "up"))
		if err != nil {
			t.Fatal(err)
		}
		n, sum, over, err := body.WriteBodyTo(f, 5, limit)
		f.Close()
		want := data
		if limit >= 0 && limit < int64(len(data)) {
			want = data[:limit]
		}
		if err != nil || n != int64(len(want)) || over != (len(want) < len(data)) {
			t.Fatalf("limit %d: WriteBodyTo = %d, over %v, %v", limit, n, over, err)
		}
		got, _ := os.ReadFile(f.Name())
		if !bytes.Equal(got[5:], want) {
			t.Fatalf("limit %d: the file holds other bytes", limit)
		}
		if h := sha256.Sum256(want); !bytes.Equal(sum, h[:]) {
			t.Fatalf("limit %d: wrong digest", limit)
		}
		if progress == 0 {
			t.Fatal("taking body bytes did not count as progress")
		}
		buf.finish() // let the writer goroutine drain, if the limit stopped us
	}
}

// TestBodyBufDirectFill: the loop reads straight into the space free gives
// while the command drains the buffer; the bytes come out in order even
// when the command empties the buffer meanwhile (the read position must not
// jump back to the front under a read in progress).
func TestBodyBufDirectFill(t *testing.T) {
	b := newBodyBuf(8, func() {})
	b.write([]byte("abc"))
	p := b.free(8)
	if len(p) != 5 {
		t.Fatalf("free = %d bytes, want 5", len(p))
	}
	got := make([]byte, 8)
	if n, err := readBuf(b, got); err != nil || string(got[:n]) != "abc" {
		t.Fatalf("read %q, %v", got[:n], err)
	}
	copy(p, "de") // the read, finishing after the command emptied the buffer
	b.commit(2)
	if n, err := readBuf(b, got); err != nil || string(got[:n]) != "de" {
		t.Fatalf("after a direct fill: read %q, %v; want \"de\"", got[:n], err)
	}
	// Full, or discarding: nothing to read into.
	b.write([]byte("12345678"))
	if p := b.free(8); p != nil {
		t.Fatalf("a full buffer offers %d bytes", len(p))
	}
	b.finish()
	if p := b.free(8); p != nil {
		t.Fatal("a finished buffer offers space")
	}
}

// TestDeepBodies: a large upload's buffer grows deep when its first bytes
// come, at most maxBigBodies at a time; finishing gives the depth back, and
// small or bodiless requests never take one.
func TestDeepBodies(t *testing.T) {
	s := &Server{}
	big := int64(1 << 30)
	var bufs []*bodyBuf
	for i := range maxBigBodies + 1 {
		b := s.newBody(&big, func() {})
		b.write([]byte("x"))
		if want := bigBodyBuffer; i == maxBigBodies {
			want = bodyBufferSize
			if b.size != want {
				t.Fatalf("upload %d: buffer of %d bytes, want %d (over the limit)", i, b.size, want)
			}
		} else if b.size != want {
			t.Fatalf("upload %d: buffer of %d bytes, want %d", i, b.size, want)
		}
		bufs = append(bufs, b)
	}
	small := int64(100)
	sb := s.newBody(&small, func() {})
	sb.write([]byte("x"))
	if sb.size != bodyBufferSize {
		t.Fatalf("a small upload got %d bytes", sb.size)
	}
	for _, b := range bufs {
		b.finish()
	}
	if n := s.bigBodies.Load(); n != 0 {
		t.Fatalf("%d deep buffers still counted after every upload finished", n)
	}
	stream := s.newBody(nil, func() {})
	if stream.size != bodyBufferSize {
		t.Fatal("a request that sent nothing holds a deep buffer")
	}
	stream.write([]byte("x"))
	if stream.size != bigBodyBuffer || s.bigBodies.Load() != 1 {
		t.Fatalf("a stream's buffer: %d bytes, %d counted", stream.size, s.bigBodies.Load())
	}
}
