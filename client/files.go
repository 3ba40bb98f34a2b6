package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/selectftp/selectftp/protocol"
)

// Entry is one file or folder as ls and stat describe it. Paths are
// virtual: "/" is the top of the tree the session may see.
type Entry struct {
	// Name is the base name; Path the virtual path from the top ("/a/b.txt").
	Name string
	Path string
	// Type is "file", "dir", "link" or "other".
	Type string
	Size int64
	// Mode is parsed from the server's text (fs.FileMode.String form); the
	// text itself, as sent, is in ModeText, for printing what the server
	// said even when it uses letters this client does not know.
	Mode     fs.FileMode
	ModeText string
	ModTime  time.Time
	// Digests holds, for Stat only, the digests the server has cached,
	// by algorithm name ("xxh128", "sha256", "blake3"), as lower-case hex.
	Digests map[string]string
}

// IsDir reports whether e is a folder.
func (e Entry) IsDir() bool { return e.Type == "dir" }

// wireEntry is an Entry as the spec spells it in JSON.
type wireEntry struct {
	Name  string    `json:"name,omitempty"`
	Path  string    `json:"path"`
	Type  string    `json:"type"`
	Size  int64     `json:"size"`
	Mode  string    `json:"mode"`
	MTime time.Time `json:"mtime"`
}

// MarshalJSON writes e in the server's format (mode as text, mtime RFC
// 3339), plus the digests of a stat, so a program reading the CLI's
// --json output sees the same fields as the wire.
func (e Entry) MarshalJSON() ([]byte, error) {
	m := map[string]any{
		"path": e.Path, "type": e.Type, "size": e.Size,
		"mode": e.ModeText, "mtime": e.ModTime.UTC().Format(time.RFC3339Nano),
	}
	if e.Name != "" {
		m["name"] = e.Name
	}
	for alg, d := range e.Digests {
		m[alg] = d
	}
	return json.Marshal(m)
}

func (w wireEntry) entry() (Entry, error) {
	if w.Path == "" && w.Name == "" {
		return Entry{}, fmt.Errorf("entry has neither name nor path")
	}
	mode, err := ParseMode(w.Mode)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Name: w.Name, Path: w.Path, Type: w.Type, Size: w.Size, Mode: mode, ModeText: w.Mode, ModTime: w.MTime}, nil
}

// modeTypeLetters are fs.FileMode.String's type letters, from bit 31 down.
const modeTypeLetters = "dalTLDpSugct?"

// ParseMode reads the text fs.FileMode.String writes ("-rw-r--r--",
// "drwxr-xr-x", "Lrwxrwxrwx") back into an fs.FileMode.
func ParseMode(s string) (fs.FileMode, error) {
	if len(s) < 10 {
		return 0, fmt.Errorf("mode %q: too short", s)
	}
	typ, perm := s[:len(s)-9], s[len(s)-9:]
	var m fs.FileMode
	if typ != "-" {
		for _, r := range typ {
			i := strings.IndexRune(modeTypeLetters, r)
			if i < 0 {
				return 0, fmt.Errorf("mode %q: unknown type letter %q", s, r)
			}
			m |= 1 << uint(31-i)
		}
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		switch perm[i] {
		case rwx[i]:
			m |= 1 << uint(8-i)
		case '-':
		default:
			return 0, fmt.Errorf("mode %q: bad permission letter %q", s, perm[i])
		}
	}
	return m, nil
}

// ListOptions are ls's flags.
type ListOptions struct {
	// Long asks for the -l listing; entries carry the same fields either
	// way, but a server may skip work without it.
	Long bool
	// All includes hidden names (a leading ".").
	All bool
}

// maxEntryLine bounds one line of a listing, so a server that never sends
// a newline cannot make the client buffer without end.
const maxEntryLine = 64 << 10

// List returns the entries of each path (a folder's entries, a file
// itself, a glob's matches); no path lists the session's current folder.
// It holds the whole listing in memory: for large folders use ListFunc.
func (c *Conn) List(ctx context.Context, opts ListOptions, paths ...string) ([]Entry, error) {
	var out []Entry
	err := c.ListFunc(ctx, opts, func(e Entry) error {
		out = append(out, e)
		return nil
	}, paths...)
	return out, err
}

// ListFunc calls fn for each entry as its line arrives, so memory stays
// bounded whatever the listing's length. An error from fn stops the
// listing and is returned; the connection stays usable. Entries already
// passed to fn are not taken back if the response turns out damaged.
func (c *Conn) ListFunc(ctx context.Context, opts ListOptions, fn func(Entry) error, paths ...string) error {
	req := fileRequest("ls", paths)
	setFlag(&req, "long", opts.Long)
	setFlag(&req, "all", opts.All)
	lw := &lineWriter{max: maxEntryLine, fn: func(line []byte) error {
		var w wireEntry
		if err := json.Unmarshal(line, &w); err != nil {
			return fmt.Errorf("the server's answer is not a listing: %q", clip(line))
		}
		e, err := w.entry()
		if err != nil {
			return fmt.Errorf("the server's listing has a bad entry: %v", err)
		}
		return fn(e)
	}}
	if _, err := c.doVerb(ctx, req, lw); err != nil {
		return err
	}
	return lw.flush()
}

// Stat describes one path, with the digests the server has cached.
func (c *Conn) Stat(ctx context.Context, path string) (Entry, error) {
	meta, err := c.doVerb(ctx, fileRequest("stat", []string{path}), nil)
	if err != nil {
		return Entry{}, err
	}
	raw, err := json.Marshal(meta)
	if err != nil {
		return Entry{}, fmt.Errorf("stat %s: %w", path, err)
	}
	var w wireEntry
	if err := json.Unmarshal(raw, &w); err != nil || w.Type == "" {
		return Entry{}, fmt.Errorf("stat %s: the server's answer has no type: %s", path, clip(raw))
	}
	e, err := w.entry()
	if err != nil {
		return Entry{}, fmt.Errorf("stat %s: %w", path, err)
	}
	if i := strings.LastIndexByte(e.Path, '/'); i >= 0 && e.Name == "" {
		e.Name = e.Path[i+1:]
	}
	for _, alg := range []string{"xxh128", "sha256", "blake3"} {
		if d, ok := meta[alg].(string); ok {
			if e.Digests == nil {
				e.Digests = map[string]string{}
			}
			e.Digests[alg] = d
		}
	}
	return e, nil
}

// Remove removes files, and empty folders; with recursive, folders and
// everything in them. It stops at the first failure, which names the path.
func (c *Conn) Remove(ctx context.Context, recursive bool, paths ...string) error {
	req := fileRequest("rm", paths)
	setFlag(&req, "recursive", recursive)
	_, err := c.doVerb(ctx, req, nil)
	return err
}

// Mkdir makes folders; with parents, missing parents too, and an existing
// folder is no error.
func (c *Conn) Mkdir(ctx context.Context, parents bool, paths ...string) error {
	req := fileRequest("mkdir", paths)
	setFlag(&req, "parents", parents)
	_, err := c.doVerb(ctx, req, nil)
	return err
}

// Rename moves from to to atomically inside the tree; to an existing
// folder moves into it. With noClobber an existing to is refused (exists).
func (c *Conn) Rename(ctx context.Context, from, to string, noClobber bool) error {
	req := fileRequest("mv", []string{from, to})
	setFlag(&req, "no_clobber", noClobber)
	_, err := c.doVerb(ctx, req, nil)
	return err
}

// FileSum is one line of sum's answer.
type FileSum struct {
	Algorithm string // "xxh128", "sha256" or "blake3"
	Digest    string // lower-case hex
	Path      string // virtual path
}

// Sum returns the digest of each remote file in alg ("" = this
// connection's algorithm, see WithChecksum).
func (c *Conn) Sum(ctx context.Context, alg string, paths ...string) ([]FileSum, error) {
	req := fileRequest("sum", paths)
	if alg == "" {
		a, err := c.algorithm("")
		if err != nil {
			return nil, fmt.Errorf("sum: %w", err)
		}
		alg = a.String()
	}
	req.Params = map[string]any{"checksum": alg}
	var out []FileSum
	lw := &lineWriter{max: maxEntryLine, fn: func(line []byte) error {
		d, p, ok := strings.Cut(string(line), "  ")
		if !ok || d == "" || strings.Trim(d, "0123456789abcdef") != "" {
			return fmt.Errorf("the server's answer is not a digest list: %q", clip(line))
		}
		out = append(out, FileSum{Algorithm: alg, Digest: d, Path: p})
		return nil
	}}
	if _, err := c.doVerb(ctx, req, lw); err != nil {
		return out, err
	}
	return out, lw.flush()
}

// Cd makes path the session's current folder, which relative paths of
// later requests on this connection follow, and returns its virtual path.
// A new connection starts at "/" again.
func (c *Conn) Cd(ctx context.Context, path string) (string, error) {
	var b strings.Builder
	_, err := c.doVerb(ctx, fileRequest("cd", []string{path}), &b)
	return strings.TrimSuffix(b.String(), "\n"), err
}

// Pwd returns the session's current folder.
func (c *Conn) Pwd(ctx context.Context) (string, error) {
	var b strings.Builder
	_, err := c.doVerb(ctx, protocol.Request{Verb: "pwd"}, &b)
	return strings.TrimSuffix(b.String(), "\n"), err
}

// fileRequest sends paths as args. A path starting with "-" goes as
// "./-name" (the same file), so the server cannot take it for a flag.
func fileRequest(verb string, paths []string) protocol.Request {
	args := make([]string, len(paths))
	for i, p := range paths {
		if strings.HasPrefix(p, "-") {
			p = "./" + p
		}
		args[i] = p
	}
	return protocol.Request{Verb: verb, Args: args}
}

// setFlag sends a flag as a param (the spec accepts either form), which
// keeps it apart from the paths.
func setFlag(req *protocol.Request, name string, on bool) {
	if !on {
		return
	}
	if req.Params == nil {
		req.Params = map[string]any{}
	}
	req.Params[name] = true
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
