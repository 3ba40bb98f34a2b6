package ftpfront

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"time"

	"github.com/spf13/afero"
)

// maxListing bounds the NDJSON a listing may produce (about 150,000
// entries), so that one LIST cannot hold the server's memory.
const maxListing = 32 << 20

// do runs one verb and folds a failed status into the error.
func (d *clientDriver) do(ctx context.Context, c call) (result, error) {
	res, err := d.sess.Call(ctx, c)
	if err != nil {
		return res, err
	}
	return res, statusErr(res.Status)
}

// capture runs a verb whose body is small text and returns it.
func (d *clientDriver) capture(c call, limit int) ([]byte, result, error) {
	buf := &bufOut{limit: limit}
	c.Out = buf
	res, err := d.do(d.ctx, c)
	if err == nil && buf.over {
		err = fmt.Errorf("%s: answer longer than %d bytes", c.Verb, limit)
	}
	return buf.b.Bytes(), res, err
}

// bufOut keeps a verb's output in memory, up to limit.
type bufOut struct {
	b     bytes.Buffer
	limit int
	over  bool
}

func (o *bufOut) Write(p []byte) (int, error) {
	if o.b.Len()+len(p) > o.limit {
		o.over = true
		return 0, errors.New("answer too long")
	}
	return o.b.Write(p)
}

func (o *bufOut) SendFile(f *os.File, off, n int64) (int64, error) {
	if int64(o.b.Len())+n > int64(o.limit) {
		o.over = true
		return 0, errors.New("answer too long")
	}
	return io.Copy(&o.b, io.NewSectionReader(f, off, n))
}

// Stat asks the stat verb (SIZE, MDTM, MLST, CWD, RNFR, and the library's
// checks before LIST).
func (d *clientDriver) Stat(name string) (os.FileInfo, error) {
	p := d.abs(name)
	res, err := d.do(d.ctx, call{Verb: "stat", Params: map[string]any{"path": p}, Size: -1})
	if err != nil {
		return nil, err
	}
	e := entry{Name: path.Base(p), Type: str(res.Meta["type"]), Size: num(res.Meta["size"]),
		Mode: str(res.Meta["mode"]), Mtime: str(res.Meta["mtime"])}
	return e.info(), nil
}

// ReadDir lists a folder with ls -la (LIST, NLST, MLSD, STAT PATH).
func (d *clientDriver) ReadDir(name string) ([]os.FileInfo, error) {
	out, _, err := d.capture(call{Verb: "ls", Args: []string{"-la", "--", d.abs(name)}, Size: -1}, maxListing)
	if err != nil {
		return nil, err
	}
	var infos []os.FileInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("ls answered a line that is not an entry: %w", err)
		}
		infos = append(infos, e.info())
	}
	return infos, sc.Err()
}

// Mkdir is MKD.
func (d *clientDriver) Mkdir(name string, _ os.FileMode) error {
	_, err := d.do(d.ctx, call{Verb: "mkdir", Args: []string{"--", d.abs(name)}, Size: -1})
	return err
}

// Remove is DELE: a file only (RMD removes folders).
func (d *clientDriver) Remove(name string) error {
	fi, err := d.Stat(name)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("a folder: remove it with RMD")
	}
	_, err = d.do(d.ctx, call{Verb: "rm", Args: []string{"--", d.abs(name)}, Size: -1})
	return err
}

// RemoveDir is RMD: an empty folder only (rm without -r refuses others).
func (d *clientDriver) RemoveDir(name string) error {
	fi, err := d.Stat(name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a folder: remove it with DELE")
	}
	_, err = d.do(d.ctx, call{Verb: "rm", Args: []string{"--", d.abs(name)}, Size: -1})
	return err
}

// Rename is RNFR/RNTO.
func (d *clientDriver) Rename(from, to string) error {
	_, err := d.do(d.ctx, call{Verb: "mv", Args: []string{"--", d.abs(from), d.abs(to)}, Size: -1})
	return err
}

// The rest of afero.Fs has no FTP command here, or goes through GetHandle.

func (d *clientDriver) Name() string { return "selectftp" }

func (d *clientDriver) Create(string) (afero.File, error) { return nil, errNotSupported }

func (d *clientDriver) Open(string) (afero.File, error) { return nil, errNotSupported }

func (d *clientDriver) OpenFile(string, int, os.FileMode) (afero.File, error) {
	return nil, errNotSupported
}

func (d *clientDriver) MkdirAll(string, os.FileMode) error { return errNotSupported }

func (d *clientDriver) RemoveAll(string) error { return errNotSupported }

func (d *clientDriver) Chmod(string, os.FileMode) error { return errNotSupported }

func (d *clientDriver) Chown(string, int, int) error { return errNotSupported }

func (d *clientDriver) Chtimes(string, time.Time, time.Time) error { return errNotSupported }

// entry is one line of ls's NDJSON, or stat's metadata.
type entry struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Size  int64  `json:"size"`
	Mode  string `json:"mode"`
	Mtime string `json:"mtime"`
}

func (e entry) info() *fileInfo {
	fi := &fileInfo{name: e.Name, size: e.Size}
	fi.mtime, _ = time.Parse(time.RFC3339Nano, e.Mtime)
	// ls and stat print fs.FileMode.String(): the permission bits are its
	// last nine letters.
	if len(e.Mode) >= 9 {
		for i, c := range e.Mode[len(e.Mode)-9:] {
			if c != '-' {
				fi.mode |= 1 << (8 - i)
			}
		}
	}
	switch e.Type {
	case "dir":
		fi.mode |= fs.ModeDir
	case "link":
		fi.mode |= fs.ModeSymlink
	case "file":
	default:
		fi.mode |= fs.ModeIrregular
	}
	return fi
}

// fileInfo is an os.FileInfo made from a verb's answer.
type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (f *fileInfo) Name() string       { return f.name }
func (f *fileInfo) Size() int64        { return f.size }
func (f *fileInfo) Mode() fs.FileMode  { return f.mode }
func (f *fileInfo) ModTime() time.Time { return f.mtime }
func (f *fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f *fileInfo) Sys() any           { return nil }

func str(v any) string {
	s, _ := v.(string)
	return s
}

// num reads a metadata number, whichever way it travelled: an int64
// in-process, a float64 or json.Number through JSON.
func num(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

func cleanPath(p string) string { return path.Clean("/" + p) }
