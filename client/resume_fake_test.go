package client_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/protocol"
)

// resumeFake is a server of put, get and sum as the resume spec has them
// (docs: notes/resume-spec), holding files and resumable partials in
// memory, and recording what each request asked and how many body bytes
// crossed each way.
type resumeFake struct {
	t        *testing.T
	mu       sync.Mutex
	files    map[string][]byte
	partials map[string][]byte
	reqs     []protocol.Request
	up, down int64 // body bytes received, sent
	// getCut, when > 0, makes a get send that many bytes and then drop
	// the connection, as a network failure would.
	getCut int
	// afterSum runs after a sum with a length, to change a file between
	// the check and the download.
	afterSum func(f *resumeFake)
	// refuseOffset answers a put with an offset bad_request, as when the
	// partial vanished between the probe and the upload.
	refuseOffset bool
	// badDigest makes a get send a wrong digest after its body.
	badDigest bool
}

func newResumeFake(t *testing.T) (*resumeFake, string) {
	f := &resumeFake{t: t, files: map[string][]byte{}, partials: map[string][]byte{}}
	return f, fakeServer(t, f.serve)
}

func num(q protocol.Request, key string) int64 {
	v, _ := q.Params[key].(float64)
	return int64(v)
}

func flag(q protocol.Request, key string) bool {
	v, _ := q.Params[key].(bool)
	return v
}

func (f *resumeFake) fail(fc *fakeConn, code protocol.Code, msg string) {
	fc.send(protocol.TypeStatus, protocol.Status{Code: code, Message: msg})
}

func (f *resumeFake) serve(fc *fakeConn) {
	for {
		q, err := fc.request()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, q)
		f.mu.Unlock()
		if q.Expect {
			fc.cont()
		}
		body, tr, err := fc.body()
		if err != nil {
			return
		}
		f.mu.Lock()
		f.up += int64(len(body))
		f.mu.Unlock()
		switch q.Verb {
		case "put":
			f.put(fc, q, body, tr)
		case "get":
			if !f.get(fc, q) {
				return
			}
		case "sum":
			f.sum(fc, q)
		default:
			f.fail(fc, protocol.CodeUnknownVerb, q.Verb)
		}
	}
}

func (f *resumeFake) put(fc *fakeConn, q protocol.Request, body []byte, tr protocol.Trailer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, _ := q.Params["path"].(string)
	partial := f.partials[p]
	if flag(q, "probe") {
		m := map[string]any{"path": p, "partial": len(partial)}
		if len(partial) > 0 {
			m["partial_digest"] = digestOf(f.t, q.Checksum, partial)
		}
		fc.meta(m)
		fc.ok(q, nil)
		return
	}
	off := num(q, "offset")
	if off > int64(len(partial)) || (off > 0 && f.refuseOffset) {
		f.fail(fc, protocol.CodeBadRequest, fmt.Sprintf("no partial upload of %s has %d bytes; start again from zero", p, off))
		return
	}
	if tr.Digest != digestOf(f.t, q.Checksum, body) {
		f.fail(fc, protocol.CodeChecksum, "put: mismatch")
		return
	}
	data := append(append([]byte{}, partial[:off]...), body...)
	if d, ok := q.Params["file_digest"].(string); ok && d != digestOf(f.t, q.Checksum, data) {
		delete(f.partials, p)
		f.fail(fc, protocol.CodeChecksum, fmt.Sprintf("the resumed upload of %s does not match the file; start again", p))
		return
	}
	delete(f.partials, p)
	f.files[p] = data
	fc.meta(map[string]any{"path": p, "size": len(data)})
	fc.ok(q, nil)
}

// get answers a get; false when it dropped the connection.
func (f *resumeFake) get(fc *fakeConn, q protocol.Request) bool {
	f.mu.Lock()
	p, _ := q.Params["path"].(string)
	data, ok := f.files[p]
	off := num(q, "offset")
	cut, bad := f.getCut, f.badDigest
	f.mu.Unlock()
	if !ok {
		f.fail(fc, protocol.CodeNotFound, "get "+p+": no such file")
		return true
	}
	if off > int64(len(data)) {
		f.fail(fc, protocol.CodeBadRequest, "offset past the end")
		return true
	}
	m := map[string]any{"path": p, "size": len(data)}
	if _, ok := q.Params["offset"]; ok {
		m["offset"] = off
	}
	fc.meta(m)
	tail := data[off:]
	if cut > 0 && cut < len(tail) {
		fc.data(tail[:cut])
		f.mu.Lock()
		f.down += int64(cut)
		f.mu.Unlock()
		fc.nc.Close()
		return false
	}
	for b := tail; len(b) > 0; {
		k := min(len(b), 256<<10)
		fc.data(b[:k])
		b = b[k:]
	}
	f.mu.Lock()
	f.down += int64(len(tail))
	f.mu.Unlock()
	if bad {
		tail = append([]byte{1}, tail...)
	}
	fc.ok(q, tail)
	return true
}

func (f *resumeFake) sum(fc *fakeConn, q protocol.Request) {
	f.mu.Lock()
	p := q.Args[0]
	data, ok := f.files[p]
	_, hasLength := q.Params["length"]
	n := num(q, "length")
	f.mu.Unlock()
	switch {
	case !ok:
		f.fail(fc, protocol.CodeNotFound, "sum "+p+": no such file")
		return
	case hasLength && n > int64(len(data)):
		f.fail(fc, protocol.CodeBadRequest, fmt.Sprintf("%s has only %d bytes", p, len(data)))
		return
	case hasLength:
		data = data[:n]
	}
	out := []byte(digestOf(f.t, q.Checksum, data) + "  " + p + "\n")
	fc.data(out)
	fc.ok(q, out)
	if hasLength && f.afterSum != nil {
		f.mu.Lock()
		f.afterSum(f)
		f.mu.Unlock()
	}
}

// last returns the last request of verb (zero if none).
func (f *resumeFake) last(verb string) protocol.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.reqs) - 1; i >= 0; i-- {
		if f.reqs[i].Verb == verb {
			return f.reqs[i]
		}
	}
	return protocol.Request{}
}

func (f *resumeFake) counts() (up, down int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.up, f.down
}
