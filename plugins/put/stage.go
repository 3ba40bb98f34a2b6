package put

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"github.com/selectftp/selectftp/plugins/internal/staging"
)

// stage is where an upload is written before it takes its name: never
// visible under the name until complete, and gone if the upload fails.
type stage interface {
	file() *os.File
	// commit makes the file the upload's name (replacing what was there)
	// durably, and closes it. It says whether the file took the name, even
	// on error (a folder sync failing after the rename), and what it
	// displaced.
	commit() (placement, error)
	// abort discards the file.
	abort()
	// expect makes commit replace only the file id (an append's source)
	// and fail if the name is empty or holds another (placeOver).
	expect(id *fileID)
}

// newStage prefers a file with no name at all (Linux O_TMPFILE): if the
// plugin dies mid-upload, nothing is left behind. Elsewhere it falls back
// to a reserved staging name (package staging), removed on failure and
// swept after a crash.
func newStage(root *os.Root, dir, base string) (stage, error) {
	if preferUnnamed {
		if st, err := newUnnamedStage(root, dir, base); err == nil {
			return st, nil
		} else if !errors.Is(err, errNoUnnamed) {
			return nil, err
		}
	}
	f, tmp, err := createTemp(root, dir)
	if err != nil {
		return nil, err
	}
	return &namedStage{root: root, f: f, tmp: tmp, dir: dir, base: base}, nil
}

// preferUnnamed is false only in tests of the fallback.
var preferUnnamed = true

// errNoUnnamed means the system or file system has no unnamed files.
var errNoUnnamed = errors.New("put: unnamed files unsupported")

// namedStage is a file under a reserved staging name, renamed into place.
type namedStage struct {
	root           *os.Root
	f              *os.File
	tmp, dir, base string // tmp is dir + "/" + a staging name
	want           *fileID
}

func (s *namedStage) file() *os.File { return s.f }

func (s *namedStage) expect(id *fileID) { s.want = id }

func (s *namedStage) commit() (placement, error) {
	none := placement{replaced: -1}
	if err := s.f.Close(); err != nil {
		return none, err
	}
	// Synced by a descriptor opened before the rename: see resumeStage.
	d, err := openDir(s.root, s.dir)
	if err != nil {
		s.root.Remove(s.tmp)
		return none, err
	}
	defer d.Close()
	pl, err := placeOver(s.root, d, s.dir, path.Base(s.tmp), s.base, s.want)
	if err != nil {
		if !pl.placed {
			s.root.Remove(s.tmp)
		}
		return pl, err
	}
	return pl, d.Sync()
}

func (s *namedStage) abort() {
	s.f.Close()
	s.root.Remove(s.tmp)
}

// createTemp creates a new file under a fresh staging name in dir,
// exclusively, so two uploads never share it.
func createTemp(root *os.Root, dir string) (*os.File, string, error) {
	for try := 0; ; try++ {
		// Not filepath.Join: cleaning "link/../x" lexically could pick
		// another folder than the root resolves.
		name := dir + "/" + staging.Name()
		f, err := root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o644)
		if errors.Is(err, fs.ErrExist) && try < 10 {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		// Held while this file is open, so a sweep never takes the live
		// upload for a leftover; without locks, sweeps go by age. A
		// sweep that claimed the file between the create and here
		// removes it: make another.
		if errors.Is(staging.Hold(f), staging.ErrHeld) && try < 10 {
			f.Close()
			continue
		}
		return f, name, nil
	}
}

// openDir opens the folder dir under root. O_DIRECTORY makes a FIFO or
// device swapped in for the folder fail at once instead of blocking open.
func openDir(root *os.Root, dir string) (*os.File, error) {
	return root.OpenFile(dir, os.O_RDONLY|oDirectory, 0)
}
