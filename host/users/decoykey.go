package users

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/selectftp/selectftp/host/auth"
)

// ErrDecoyKeyNotCreated is wrapped by DecoyKey's error when there is no key
// beside the users file and none can be made there (a read-only folder, a
// secret mount): the caller may warn and use a key per process, since no
// key exists that others could have read.
var ErrDecoyKeyNotCreated = errors.New("no decoy key could be created")

// DecoyKeyPath is where DecoyKey keeps the decoy key of the users file at
// usersPath: beside it, with ".decoy-key" appended.
func DecoyKeyPath(usersPath string) string { return usersPath + ".decoy-key" }

// DecoyKey returns the decoy key kept beside the users file at usersPath
// (host.Server.DecoyKey), creating it on first use: auth.DecoyKeySize
// random bytes, mode 0600. With it an unknown name's stand-in salt stays
// the same across restarts, as a real account's does. The file is
// created once even by processes racing to (written under a temporary
// name, then linked, so nothing partial is ever read), and refused when it
// is a symlink or anything but a regular file, group or others may read or
// write it, its size is wrong or it belongs to another user than the
// server's (or root): a key others have read lets them tell decoys from
// accounts. When it is missing and cannot be created the error wraps
// ErrDecoyKeyNotCreated.
func DecoyKey(usersPath string) ([]byte, error) {
	name := DecoyKeyPath(usersPath)
	key, err := readDecoyKey(name, false)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createDecoyKey(name); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s: %w", ErrDecoyKeyNotCreated, name, err)
	}
	return readDecoyKey(name, false)
}

// ReadDecoyKey reads the decoy key an operator named (selectftpd
// --decoy-key): it is never created. It may be a symlink (a Kubernetes
// Secret's file is one), but what it leads to must be a regular file of
// auth.DecoyKeySize bytes, owned by the server's user or root, that others
// may neither read nor write and its group may not write (group read is
// allowed: a Secret mounted with fsGroup is read through it).
func ReadDecoyKey(name string) ([]byte, error) { return readDecoyKey(name, true) }

// readDecoyKey opens, checks and reads the key file. Every check is made
// on the opened file, so nothing swapped in after a check is read; the
// open never blocks (a FIFO) and, unless named, never follows a symlink.
func readDecoyKey(name string, named bool) ([]byte, error) {
	f, err := openDecoyKey(name, named)
	if err != nil {
		if isSymlinkRefusal(err) {
			return nil, fmt.Errorf("decoy key %s is not a regular file but a symlink (name it with --decoy-key to use a key kept elsewhere)", name)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("decoy key %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("decoy key %s: %w", name, err)
	}
	// We make the default key 0600, so any other bit was set by someone.
	forbidden := fs.FileMode(0o077)
	fix, modeFix := "delete it to make a new one", "chmod 600 it, or delete it to make a new one"
	if named {
		forbidden = 0o027 // a Secret with fsGroup is read through its group
		fix = "make one with: head -c 32 /dev/urandom >FILE; chmod 600 FILE"
		modeFix = "chmod 600 it; a Kubernetes Secret needs defaultMode 0400, or 0440 with fsGroup"
	}
	switch {
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("decoy key %s is not a regular file (%s)", name, st.Mode().Type())
	case st.Mode().Perm()&forbidden != 0:
		return nil, fmt.Errorf("decoy key %s has mode %#o: others than its owner may read or write it (%s)", name, st.Mode().Perm(), modeFix)
	case st.Size() != auth.DecoyKeySize:
		return nil, fmt.Errorf("decoy key %s is %d bytes, not %d (%s)", name, st.Size(), auth.DecoyKeySize, fix)
	}
	if err := checkDecoyKeyOwner(st); err != nil {
		return nil, fmt.Errorf("decoy key %s: %w", name, err)
	}
	key := make([]byte, auth.DecoyKeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("decoy key %s: %w", name, err)
	}
	return key, nil
}

// createDecoyKey writes a new key under a temporary name and links it to
// name, which fails with fs.ErrExist when another process was first.
func createDecoyKey(name string) error {
	key := make([]byte, auth.DecoyKeySize)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(key)
	dir := filepath.Dir(name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), name); err != nil {
		return err
	}
	// The link must survive a crash, or the next start makes another key.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
