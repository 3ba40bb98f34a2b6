//go:build linux

package netpoll

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestRecordBufsReuse pushes records of every size while a simulated
// flush sends random amounts, so chunks fill, get sent, return to the
// pool and are filled again: what leaves the queue must be exactly what
// went in, in order (a chunk used again too early would show as changed
// bytes).
func TestRecordBufsReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		q        outQueue
		rb       recordBufs
		in, out  bytes.Buffer
		sent     uint64
		iov      [][]byte
		sizes    = []int{1, 100, bigRecord - 1, bigRecord, 16<<10 + 22, recordChunk, recordChunk + 1}
		released int // chunks whose bytes were all sent while others were queued
	)
	for i := 0; i < 500; i++ {
		b := make([]byte, sizes[rng.IntN(len(sizes))])
		for j := 0; j < len(b); j += 8 {
			b[j] = byte(i) // every record's bytes tell it from the others
		}
		in.Write(b)
		live := len(rb.live)
		rb.push(&q, b, sent)
		if len(rb.live) < live {
			released++
		}
		if rng.IntN(3) == 0 {
			iov = q.peek(iov[:0], 0)
			n, limit := 0, rng.IntN(3*recordChunk)
			for _, v := range iov {
				k := min(len(v), limit-n)
				out.Write(v[:k])
				if n += k; k < len(v) {
					break // a short write: the socket took no more
				}
			}
			q.advance(n)
			sent += uint64(n)
		}
		if q.n == 0 {
			rb.drained()
		}
	}
	for _, v := range q.peek(nil, 0) {
		out.Write(v)
	}
	if !bytes.Equal(in.Bytes(), out.Bytes()) {
		t.Fatalf("the queue sent %d bytes that differ from the %d pushed", out.Len(), in.Len())
	}
	if released == 0 {
		t.Fatal("no chunk was released while the queue held others: the test does not exercise reuse")
	}
	if rb.pushed != uint64(in.Len()) || q.n != in.Len()-int(sent) {
		t.Fatalf("counts: pushed %d queued %d sent %d, want %d in all", rb.pushed, q.n, sent, in.Len())
	}
}
