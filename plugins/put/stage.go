package put

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
)

// stage is where an upload is written before it takes its name: never
// visible under the name until complete, and gone if the upload fails.
type stage interface {
	file() *os.File
	// commit makes the file the upload's name (replacing what was there)
	// durably, and closes it.
	commit() error
	// abort discards the file.
	abort()
}

// newStage prefers a file with no name at all (Linux O_TMPFILE): if the
// plugin dies mid-upload, nothing is left behind. Elsewhere it falls back
// to a hidden temporary name, removed on failure.
func newStage(root *os.Root, dir, base string) (stage, error) {
	if preferUnnamed {
		if st, err := newUnnamedStage(root, dir, base); err == nil {
			return st, nil
		} else if !errors.Is(err, errNoUnnamed) {
			return nil, err
		}
	}
	f, tmp, err := createTemp(root, dir, base)
	if err != nil {
		return nil, err
	}
	return &namedStage{root: root, f: f, tmp: tmp, dir: dir, path: dir + "/" + base}, nil
}

// preferUnnamed is false only in tests of the fallback.
var preferUnnamed = true

// errNoUnnamed means the system or file system has no unnamed files.
var errNoUnnamed = errors.New("put: unnamed files unsupported")

// namedStage is a hidden temporary file renamed into place.
type namedStage struct {
	root           *os.Root
	f              *os.File
	tmp, dir, path string
}

func (s *namedStage) file() *os.File { return s.f }

func (s *namedStage) commit() error {
	if err := s.f.Close(); err != nil {
		return err
	}
	if err := s.root.Rename(s.tmp, s.path); err != nil {
		s.root.Remove(s.tmp)
		return err
	}
	return syncDir(s.root, s.dir)
}

func (s *namedStage) abort() {
	s.f.Close()
	s.root.Remove(s.tmp)
}

// tempName is a fresh hidden name for base.
func tempName(base string) string {
	stem := base
	if len(stem) > 100 { // keep within NAME_MAX with the suffix added
		stem = "upload"
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	return "." + stem + ".part-" + hex.EncodeToString(rnd[:])
}

// createTemp creates a new file named .BASE.part-RANDOM in dir, exclusively,
// so two uploads of the same name never share it.
func createTemp(root *os.Root, dir, base string) (*os.File, string, error) {
	for try := 0; ; try++ {
		// Not filepath.Join: cleaning "link/../x" lexically could pick
		// another folder than the root resolves.
		name := dir + "/" + tempName(base)
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if errors.Is(err, fs.ErrExist) && try < 10 {
			continue
		}
		return f, name, err
	}
}

// syncDir makes the rename in dir durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
