package netpoll

import (
	"bytes"
	"testing"
)

// TestOutQueue drives the output queue through pushes and partial sends
// and checks what it would send next, byte for byte, and its count.
func TestOutQueue(t *testing.T) {
	big := bytes.Repeat([]byte("B"), smallChunk+5)
	type op struct {
		push    string // bytes to push ("" with file: a file segment)
		pushBig bool   // push big instead
		file    int64  // push a file segment of this many bytes
		advance int    // then drop this many sent bytes
	}
	tests := []struct {
		name      string
		ops       []op
		limit     int    // peek's byte limit
		wantPeek  string // concatenation of the peeked chunks
		wantIovs  int
		wantN     int
		wantFront bool // a file segment heads the queue
		wantEmpty bool // items released (an idle queue owns no memory)
	}{
		{name: "empty", wantEmpty: true},
		{name: "small pushes share a chunk", ops: []op{{push: "ab"}, {push: "cd"}}, wantPeek: "abcd", wantIovs: 1, wantN: 4},
		{name: "partial advance", ops: []op{{push: "abc"}, {push: "de", advance: 2}}, wantPeek: "cde", wantIovs: 1, wantN: 3},
		{name: "drained releases", ops: []op{{push: "abc", advance: 3}}, wantEmpty: true},
		{name: "big write gets its own chunk", ops: []op{{push: "a"}, {pushBig: true}}, wantPeek: "a" + string(big), wantIovs: 2, wantN: 1 + len(big)},
		{name: "peek limit cuts a chunk", ops: []op{{push: "abcdef"}}, limit: 4, wantPeek: "abcd", wantIovs: 1, wantN: 6},
		{name: "peek stops at a file", ops: []op{{push: "ab"}, {file: 10}, {push: "cd"}}, wantPeek: "ab", wantIovs: 1, wantN: 14},
		{name: "file at the head", ops: []op{{file: 10}, {push: "cd"}}, wantFront: true, wantN: 12},
		{name: "advance through a file", ops: []op{{push: "ab"}, {file: 10}, {push: "cd", advance: 12}}, wantPeek: "cd", wantIovs: 1, wantN: 2},
		{name: "advance into a file", ops: []op{{file: 10, advance: 4}}, wantFront: true, wantN: 6},
		{name: "empty push is nothing", ops: []op{{push: ""}}, wantEmpty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var q outQueue
			defer q.reset()
			for _, o := range tt.ops {
				switch {
				case o.file > 0:
					ref := &fileRef{}
					ref.refs.Store(1 << 20) // never reaches zero: there is no file to close
					q.pushFile(&fileSeg{n: o.file, ref: ref})
				case o.pushBig:
					q.push(big)
				default:
					q.push([]byte(o.push))
				}
				if o.advance > 0 {
					q.advance(o.advance)
				}
			}
			iov := q.peek(nil, tt.limit)
			if got := string(bytes.Join(iov, nil)); got != tt.wantPeek || len(iov) != tt.wantIovs {
				t.Errorf("peek = %q in %d iovecs, want %q in %d", got, len(iov), tt.wantPeek, tt.wantIovs)
			}
			if q.n != tt.wantN {
				t.Errorf("n = %d, want %d", q.n, tt.wantN)
			}
			if (q.front() != nil) != tt.wantFront {
				t.Errorf("front() = %v, want a file: %v", q.front(), tt.wantFront)
			}
			if (q.items == nil) != tt.wantEmpty {
				t.Errorf("items = %d entries, want released: %v", len(q.items), tt.wantEmpty)
			}
		})
	}
}

// TestOutQueueIovecCap keeps peek within writev's IOV_MAX.
func TestOutQueueIovecCap(t *testing.T) {
	var q outQueue
	for range maxIovecs + 10 {
		q.push(bytes.Repeat([]byte("x"), smallChunk)) // one chunk each
	}
	if iov := q.peek(nil, 0); len(iov) != maxIovecs {
		t.Fatalf("peek returned %d iovecs, want %d", len(iov), maxIovecs)
	}
}
