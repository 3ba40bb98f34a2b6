package put

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/selectftp/selectftp/plugins/internal/staging"
)

const oDirectory = unix.O_DIRECTORY

// unnamedStage is an O_TMPFILE file in the target folder: it has no name
// until commit links it, so a crash leaves nothing to clean up.
type unnamedStage struct {
	root    *os.Root
	dir     *os.File // the target folder, opened through the root
	dirName string   // its path under the root
	f       *os.File
	base    string
	want    *fileID // see stage.expect
}

func newUnnamedStage(root *os.Root, dir, base string) (stage, error) {
	d, err := openDir(root, dir) // confined: the folder resolves inside the root
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(int(d.Fd()), ".", unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o644)
	if err != nil {
		d.Close()
		if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EISDIR) || errors.Is(err, unix.EINVAL) {
			return nil, errNoUnnamed
		}
		return nil, &os.PathError{Op: "create", Path: dir + "/" + base, Err: err}
	}
	return &unnamedStage{root: root, dir: d, dirName: dir, f: os.NewFile(uintptr(fd), dir+"/"+base), base: base}, nil
}

func (s *unnamedStage) file() *os.File { return s.f }

func (s *unnamedStage) expect(id *fileID) { s.want = id }

// commit links the file under its name when nothing is there yet. To
// replace a file it links it under a reserved staging name, then puts
// that over the target (placeOver): linkat cannot replace, rename can,
// atomically. A crash between the two leaves only a staging name, which
// no verb serves and put sweeps.
func (s *unnamedStage) commit() (placement, error) {
	defer s.dir.Close()
	defer s.f.Close()
	dirfd := int(s.dir.Fd())
	var err error = unix.EEXIST // an append may only replace its source: see placeOver
	if s.want == nil {
		err = s.link(dirfd, s.base)
	}
	if err == nil {
		return placement{placed: true, replaced: -1}, s.dir.Sync()
	}
	none := placement{replaced: -1}
	if !errors.Is(err, unix.EEXIST) {
		return none, &os.LinkError{Op: "link", Old: s.f.Name(), New: s.base, Err: err}
	}
	tmp := staging.Name()
	staging.Hold(s.f) // a live upload, to any sweep, until f is closed
	if err := s.link(dirfd, tmp); err != nil {
		return none, &os.LinkError{Op: "link", Old: s.f.Name(), New: s.base, Err: err}
	}
	pl, err := placeOver(s.root, s.dir, s.dirName, tmp, s.base, s.want)
	if err != nil {
		if !pl.placed {
			unix.Unlinkat(dirfd, tmp, 0)
		}
		return pl, err
	}
	return pl, s.dir.Sync()
}

// link gives the unnamed file the name name in the folder dirfd; it fails
// with EEXIST if the name is taken.
func (s *unnamedStage) link(dirfd int, name string) error {
	proc := fmt.Sprintf("/proc/self/fd/%d", s.f.Fd())
	err := unix.Linkat(unix.AT_FDCWD, proc, dirfd, name, unix.AT_SYMLINK_FOLLOW)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		// Without /proc, AT_EMPTY_PATH does it (it needs privilege).
		err = unix.Linkat(int(s.f.Fd()), "", dirfd, name, unix.AT_EMPTY_PATH)
	}
	return err
}

func (s *unnamedStage) abort() {
	s.f.Close() // the kernel frees an unnamed file with its last descriptor
	s.dir.Close()
}
