package netpoll

// smallChunk is the capacity given to a chunk created for a small write, so
// that a burst of small replies shares one allocation and one iovec instead
// of one each.
const smallChunk = 1 << 10

// outQueue holds copies of bytes waiting to be sent. The zero value is an
// empty queue that owns no memory; it returns to that state whenever it
// drains, so an idle connection pays nothing for it.
type outQueue struct {
	bufs [][]byte
	n    int
}

// push appends a copy of b.
func (q *outQueue) push(b []byte) {
	if len(b) == 0 {
		return
	}
	q.n += len(b)
	if k := len(q.bufs); k > 0 {
		// Appending into spare capacity never touches bytes a concurrent
		// writer may be sending: those lie below len(last).
		if last := q.bufs[k-1]; cap(last)-len(last) >= len(b) {
			q.bufs[k-1] = append(last, b...)
			return
		}
	}
	var c []byte
	if len(b) < smallChunk {
		c = make([]byte, len(b), smallChunk)
	} else {
		c = make([]byte, len(b))
	}
	copy(c, b)
	q.bufs = append(q.bufs, c)
}

// peek appends to dst the queued chunks from the front, at most maxIovecs of
// them and at most limit bytes in total (limit <= 0: no byte limit).
func (q *outQueue) peek(dst [][]byte, limit int) [][]byte {
	total := 0
	for _, b := range q.bufs {
		if len(dst) == maxIovecs {
			break
		}
		if limit > 0 && total+len(b) > limit {
			if rest := limit - total; rest > 0 {
				dst = append(dst, b[:rest])
			}
			break
		}
		dst = append(dst, b)
		total += len(b)
	}
	return dst
}

// advance drops the first n bytes, which the socket has accepted.
func (q *outQueue) advance(n int) {
	q.n -= n
	for n > 0 && len(q.bufs) > 0 {
		b := q.bufs[0]
		if n < len(b) {
			q.bufs[0] = b[n:]
			return
		}
		n -= len(b)
		q.bufs[0] = nil
		q.bufs = q.bufs[1:]
	}
	if len(q.bufs) == 0 {
		q.bufs = nil
	}
}

// reset drops everything queued.
func (q *outQueue) reset() {
	q.bufs = nil
	q.n = 0
}
