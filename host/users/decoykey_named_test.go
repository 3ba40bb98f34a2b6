//go:build unix

package users

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
)

// writeKey writes a key file of size bytes with exactly mode perm.
func writeKey(t *testing.T, path string, size int, perm os.FileMode) []byte {
	t.Helper()
	key := bytes.Repeat([]byte{7}, size)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // WriteFile's mode is masked by the umask
		t.Fatal(err)
	}
	return key
}

// readWithin calls read and fails the test if it has not returned in a
// few seconds (an open blocked on a FIFO); a writer then unblocks it.
func readWithin(t *testing.T, fifo string, read func() ([]byte, error)) ([]byte, error) {
	t.Helper()
	type res struct {
		key []byte
		err error
	}
	done := make(chan res, 1)
	go func() { k, err := read(); done <- res{k, err} }()
	select {
	case r := <-done:
		return r.key, r.err
	case <-time.After(5 * time.Second):
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("reading the decoy key blocked on a FIFO")
		return nil, nil
	}
}

// TestDecoyKeyNotCreated: with no key beside the users file and a folder
// where none can be made, DecoyKey says so with ErrDecoyKeyNotCreated
// (selectftpd then starts with a key per process) instead of an error
// the server must stop on.
func TestDecoyKeyNotCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gone") // a read-only mount for root too
	if os.Geteuid() != 0 {
		dir = t.TempDir()
		os.Chmod(dir, 0o500)
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
	k, err := DecoyKey(filepath.Join(dir, "users.json"))
	if !errors.Is(err, ErrDecoyKeyNotCreated) || k != nil {
		t.Fatalf("DecoyKey in a folder it cannot write: %x, %v; want ErrDecoyKeyNotCreated", k, err)
	}
}

// TestReadDecoyKeyNamed: a key the operator names may be a symlink (a
// Kubernetes Secret's file is one, to a file 0400 or, with fsGroup,
// 0440) and is read through it.
func TestReadDecoyKeyNamed(t *testing.T) {
	for _, perm := range []os.FileMode{0o600, 0o400, 0o440} {
		dir := t.TempDir()
		target := filepath.Join(dir, "..data-key")
		want := writeKey(t, target, auth.DecoyKeySize, perm)
		link := filepath.Join(dir, "decoy-key")
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		got, err := ReadDecoyKey(link)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("mode %#o through a symlink: %x, %v; want the key", perm, got, err)
		}
	}
}

// TestReadDecoyKeyRefused: a named key that others may read (a Secret's
// default 0644), of the wrong size, missing, a folder, a FIFO (which must
// not hang the start) or another user's is refused with its name and the
// reason, and never created.
func TestReadDecoyKeyRefused(t *testing.T) {
	cases := []struct {
		name, want string
		make       func(t *testing.T, target string)
	}{
		{"secret-default-0644", "defaultMode 0400", func(t *testing.T, p string) { writeKey(t, p, auth.DecoyKeySize, 0o644) }},
		{"group-writable", "mode 0660", func(t *testing.T, p string) { writeKey(t, p, auth.DecoyKeySize, 0o660) }},
		{"long", "33 bytes", func(t *testing.T, p string) { writeKey(t, p, auth.DecoyKeySize+1, 0o600) }},
		{"missing", "no such file", func(t *testing.T, p string) {}},
		{"folder", "not a regular file", func(t *testing.T, p string) { os.Mkdir(p, 0o700) }},
		{"fifo", "not a regular file", func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"other-owner", "owned by uid 65534", func(t *testing.T, p string) {
			if os.Geteuid() != 0 {
				t.Skip("only root can give a file away")
			}
			writeKey(t, p, auth.DecoyKeySize, 0o600)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "target")
			tc.make(t, target)
			link := filepath.Join(dir, "decoy-key")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			k, err := readWithin(t, target, func() ([]byte, error) { return ReadDecoyKey(link) })
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), link) {
				t.Fatalf("ReadDecoyKey: %x, %v; want an error naming %s and saying %q", k, err, link, tc.want)
			}
			if _, err := os.Lstat(target); tc.name == "missing" && err == nil {
				t.Fatal("ReadDecoyKey created the named key")
			}
		})
	}
}

// TestDecoyKeyDefaultSafeOpen: the key beside the users file is read
// with every check on the opened file: a FIFO there (swapped in after
// any earlier look) does not hang the start, and a key owned by another
// user, who could read or replace it, is refused.
func TestDecoyKeyDefaultSafeOpen(t *testing.T) {
	t.Run("fifo", func(t *testing.T) {
		usersPath := filepath.Join(t.TempDir(), "users.json")
		if err := syscall.Mkfifo(DecoyKeyPath(usersPath), 0o600); err != nil {
			t.Fatal(err)
		}
		// readDecoyKey itself, not DecoyKey: no look before the open may
		// be what keeps it from blocking.
		k, err := readWithin(t, DecoyKeyPath(usersPath), func() ([]byte, error) {
			return readDecoyKey(DecoyKeyPath(usersPath), false)
		})
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("a FIFO as the key: %x, %v; want refused", k, err)
		}
	})
	t.Run("other-owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("only root can give a file away")
		}
		usersPath := filepath.Join(t.TempDir(), "users.json")
		writeKey(t, DecoyKeyPath(usersPath), auth.DecoyKeySize, 0o600)
		if err := os.Chown(DecoyKeyPath(usersPath), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if k, err := DecoyKey(usersPath); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Fatalf("a key owned by another user: %x, %v; want refused", k, err)
		}
	})
}
