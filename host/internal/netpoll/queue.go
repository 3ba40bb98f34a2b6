package netpoll

// smallChunk is the capacity given to a chunk created for a small write, so
// that a burst of small replies shares one allocation and one iovec instead
// of one each.
const smallChunk = 1 << 10

// outQueue holds what waits to be sent, in order: copies of written bytes
// and file segments (SendFile), which are sent from the file by offset and
// never copied into the queue. The zero value is an empty queue that owns no
// memory; it returns to that state whenever it drains, so an idle connection
// pays nothing for it.
type outQueue struct {
	items []outItem
	n     int // bytes queued, file segments' remaining bytes included
}

// outItem is one queue entry: a chunk of bytes, or (seg != nil) a file
// segment.
type outItem struct {
	b   []byte
	seg *fileSeg
}

// push appends a copy of b.
func (q *outQueue) push(b []byte) {
	if len(b) == 0 {
		return
	}
	q.n += len(b)
	if k := len(q.items); k > 0 && q.items[k-1].seg == nil {
		// Appending into spare capacity never touches bytes a concurrent
		// writer may be sending: those lie below len(last).
		if last := q.items[k-1].b; cap(last)-len(last) >= len(b) {
			q.items[k-1].b = append(last, b...)
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
	q.items = append(q.items, outItem{b: c})
}

// pushFile appends a file segment; the queue owns it from now on and
// releases it once it is sent or dropped.
func (q *outQueue) pushFile(s *fileSeg) {
	q.n += int(s.n)
	q.items = append(q.items, outItem{seg: s})
}

// front returns the file segment at the head of the queue, or nil when the
// head is bytes (or the queue is empty).
func (q *outQueue) front() *fileSeg {
	if len(q.items) == 0 {
		return nil
	}
	return q.items[0].seg
}

// peek appends to dst the queued byte chunks from the front, at most
// maxIovecs of them and at most limit bytes in total (limit <= 0: no byte
// limit). It stops at the first file segment: those are sent separately.
func (q *outQueue) peek(dst [][]byte, limit int) [][]byte {
	total := 0
	for _, it := range q.items {
		b := it.b
		if it.seg != nil || len(dst) == maxIovecs {
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

// advance drops the first n bytes, which the socket has accepted. A file
// segment moves its offset on and is released once fully sent.
func (q *outQueue) advance(n int) {
	q.n -= n
	for n > 0 && len(q.items) > 0 {
		it := &q.items[0]
		if s := it.seg; s != nil {
			k := min(int64(n), s.n)
			s.off += k
			s.n -= k
			n -= int(k)
			if s.n > 0 {
				return
			}
			s.release()
		} else {
			if n < len(it.b) {
				it.b = it.b[n:]
				return
			}
			n -= len(it.b)
		}
		q.items[0] = outItem{}
		q.items = q.items[1:]
	}
	if len(q.items) == 0 {
		q.items = nil
	}
}

// reset drops everything queued, closing the file segments' descriptors.
func (q *outQueue) reset() {
	for _, it := range q.items {
		if it.seg != nil {
			it.seg.release()
		}
	}
	q.items = nil
	q.n = 0
}
