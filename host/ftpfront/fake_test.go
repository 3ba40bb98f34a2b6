package ftpfront

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/selectftp/selectftp/protocol"
)

// fakeHost serves a few verbs over a folder the way the real ones answer,
// so the front's mapping can be tested without a host.
type fakeHost struct {
	root     string
	mu       sync.Mutex
	calls    []string
	readOnly bool // put refused (permission), as a user without write
	users    bool // the server has users: no anonymous login

	lastPutParams map[string]any // the last put's, for append_test.go
}

func (h *fakeHost) Anonymous() bool { return !h.users }

type fakeSession struct {
	h   *fakeHost
	dir string
}

func (h *fakeHost) LoginPlain(_ context.Context, _ net.Addr, user, pass string) (session, error) {
	if user == "bad" || pass == "wrong" {
		return nil, errors.New("authentication failed")
	}
	return &fakeSession{h: h, dir: "/"}, nil
}

func (s *fakeSession) Close() {}

func st(c protocol.Code, msg string) result {
	return result{Status: protocol.Status{Code: c, Message: msg}}
}

func (s *fakeSession) real(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = s.dir + "/" + p
	}
	return filepath.Join(s.h.root, cleanPath(p))
}

func words(args []string) []string {
	var out []string
	for _, a := range args {
		if a != "--" && !strings.HasPrefix(a, "-") {
			out = append(out, a)
		}
	}
	return out
}

func (s *fakeSession) Call(ctx context.Context, c call) (result, error) {
	s.h.mu.Lock()
	s.h.calls = append(s.h.calls, c.Verb)
	s.h.mu.Unlock()
	out := c.Out
	if out == nil {
		out = &bufOut{limit: 1 << 30}
	}
	ok := result{Status: protocol.Status{Code: protocol.CodeOK}, Meta: map[string]any{}}
	switch c.Verb {
	case "stat":
		fi, err := os.Lstat(s.real(c.Params["path"].(string)))
		if err != nil {
			return st(protocol.CodeNotFound, c.Params["path"].(string)+": not found"), nil
		}
		typ := "file"
		if fi.IsDir() {
			typ = "dir"
		}
		ok.Meta = map[string]any{"type": typ, "size": float64(fi.Size()), "mode": fi.Mode().String(), "mtime": fi.ModTime().UTC().Format("2006-01-02T15:04:05.999999999Z07:00")}
		return ok, nil
	case "ls":
		ents, err := os.ReadDir(s.real(words(c.Args)[0]))
		if err != nil {
			return st(protocol.CodeNotFound, "not found"), nil
		}
		for _, e := range ents {
			fi, _ := e.Info()
			typ := "file"
			if fi.IsDir() {
				typ = "dir"
			}
			b, _ := json.Marshal(map[string]any{"name": e.Name(), "type": typ, "size": fi.Size(), "mode": fi.Mode().String(), "mtime": fi.ModTime().UTC().Format("2006-01-02T15:04:05Z07:00")})
			out.Write(append(b, '\n'))
		}
		return ok, nil
	case "get":
		f, err := os.Open(s.real(c.Params["path"].(string)))
		if err != nil {
			return st(protocol.CodeNotFound, "not found"), nil
		}
		defer f.Close()
		fi, _ := f.Stat()
		off, _ := c.Params["offset"].(int64)
		if fi.Size()-off > 0 {
			if _, err := out.SendFile(f, off, fi.Size()-off); err != nil {
				return st(protocol.CodeCanceled, err.Error()), nil
			}
		}
		return ok, nil
	case "put":
		s.h.mu.Lock()
		s.h.lastPutParams = c.Params
		s.h.mu.Unlock()
		if s.h.readOnly {
			return st(protocol.CodePermission, c.Params["path"].(string)+": permission denied (needs write)"), nil
		}
		dst := s.real(c.Params["path"].(string))
		tmp, err := os.CreateTemp(s.h.root, ".part-")
		if err != nil {
			return st(protocol.CodeInternal, err.Error()), nil
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if c.Params["append"] == true { // put's append: the old bytes first
			old, _ := os.ReadFile(dst)
			keep, ok := c.Params["offset"].(int64)
			if !ok {
				keep = int64(len(old))
			}
			if keep > int64(len(old)) {
				return st(protocol.CodeBadRequest, "offset past the end"), nil
			}
			tmp.Write(old[:keep])
		}
		if _, err := io.Copy(tmp, c.Body); err != nil {
			return st(protocol.CodeCanceled, "upload aborted: "+err.Error()), nil
		}
		if err := os.Rename(tmp.Name(), dst); err != nil {
			return st(protocol.CodeInternal, err.Error()), nil
		}
		return ok, nil
	case "mkdir":
		if err := os.Mkdir(s.real(words(c.Args)[0]), 0o755); err != nil {
			return st(protocol.CodeExists, err.Error()), nil
		}
		return ok, nil
	case "rm":
		if err := os.Remove(s.real(words(c.Args)[0])); err != nil {
			return st(protocol.CodeNotFound, err.Error()), nil
		}
		return ok, nil
	case "mv":
		w := words(c.Args)
		if err := os.Rename(s.real(w[0]), s.real(w[1])); err != nil {
			return st(protocol.CodeNotFound, err.Error()), nil
		}
		return ok, nil
	case "sum":
		p := words(c.Args[2:])[0]
		b, err := os.ReadFile(s.real(p))
		if err != nil {
			return st(protocol.CodeNotFound, "not found"), nil
		}
		if n := c.Params["length"].(int64); n < int64(len(b)) {
			b = b[:n]
		}
		h := sha256.Sum256(b)
		fmt.Fprintf(out, "%s  %s\n", hex.EncodeToString(h[:]), p)
		return ok, nil
	case "cd":
		p := cleanPath(c.Args[0])
		if fi, err := os.Stat(s.real(p)); err != nil || !fi.IsDir() {
			return st(protocol.CodeNotFound, "not a folder"), nil
		}
		s.dir = p
		fmt.Fprintln(out, p)
		return ok, nil
	case "whereami": // a verb a plugin could add
		fmt.Fprintln(out, s.dir)
		return ok, nil
	default: // the fallback, as upper answers
		ok.Status.Fallback = "upper"
		fmt.Fprintln(out, strings.ToUpper(strings.Join(append([]string{c.Verb}, c.Args...), " ")))
		return ok, nil
	}
}

var _ fs.FileInfo = (*fileInfo)(nil)
