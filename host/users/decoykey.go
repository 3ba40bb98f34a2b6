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

// DecoyKeyPath is where DecoyKey keeps the decoy key of the users file at
// usersPath: beside it, with ".decoy-key" appended.
func DecoyKeyPath(usersPath string) string { return usersPath + ".decoy-key" }

// DecoyKey returns the decoy key kept beside the users file at usersPath
// (host.Server.DecoyKey), creating it on first use: auth.DecoyKeySize
// random bytes, mode 0600. With it an unknown name's stand-in salt stays
// the same across restarts, as a real account's does. The file is
// created once even by processes racing to (written under a temporary
// name, then linked, so nothing partial is ever read), and refused when it
// is not a regular file, others than its owner may read or write it, or
// its size is wrong: a key others have read lets them tell decoys from
// accounts.
func DecoyKey(usersPath string) ([]byte, error) {
	name := DecoyKeyPath(usersPath)
	key, err := readDecoyKey(name)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createDecoyKey(name); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("creating the decoy key %s: %w", name, err)
	}
	return readDecoyKey(name)
}

// readDecoyKey reads and checks the key file.
func readDecoyKey(name string) ([]byte, error) {
	lst, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !lst.Mode().IsRegular() {
		return nil, fmt.Errorf("decoy key %s is not a regular file", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !os.SameFile(lst, st):
		return nil, fmt.Errorf("decoy key %s changed while it was opened", name)
	case st.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("decoy key %s has mode %#o: others than its owner may read it (chmod 600 it, or delete it to make a new one)", name, st.Mode().Perm())
	case st.Size() != auth.DecoyKeySize:
		return nil, fmt.Errorf("decoy key %s is %d bytes, not %d (delete it to make a new one)", name, st.Size(), auth.DecoyKeySize)
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
