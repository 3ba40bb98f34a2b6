package users

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
)

// TestDecoyKeyCreatedOnce: the first call makes a 0600 key of the right
// size beside the users file, later calls (a restart) read the same one,
// processes racing to create it all get one key, and no temporary file
// stays behind.
func TestDecoyKeyCreatedOnce(t *testing.T) {
	dir := t.TempDir()
	usersPath := filepath.Join(dir, "users.json")
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := DecoyKey(usersPath)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if !bytes.Equal(k, keys[0]) || len(k) != auth.DecoyKeySize {
			t.Fatalf("racing creators got different keys: %x and %x", keys[0], k)
		}
	}
	st, err := os.Stat(DecoyKeyPath(usersPath))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("the key file has mode %#o, want 0600", st.Mode().Perm())
	}
	again, err := DecoyKey(usersPath)
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("a second start read %x, %v; want the first key", again, err)
	}
	if names, _ := os.ReadDir(dir); len(names) != 1 {
		t.Fatalf("the folder holds %d entries, want only the key: %v", len(names), names)
	}
}

// TestDecoyKeyRefused: a key others may read, of the wrong size, a
// symlink or a folder is refused with an error naming the file, never
// replaced nor used.
func TestDecoyKeyRefused(t *testing.T) {
	cases := []struct {
		name, want string
		make       func(path string) error
	}{
		{"group-readable", "mode 0640", func(p string) error {
			return os.WriteFile(p, make([]byte, auth.DecoyKeySize), 0o640)
		}},
		{"short", "31 bytes", func(p string) error {
			return os.WriteFile(p, make([]byte, auth.DecoyKeySize-1), 0o600)
		}},
		{"symlink", "not a regular file", func(p string) error {
			target := p + ".target"
			if err := os.WriteFile(target, make([]byte, auth.DecoyKeySize), 0o600); err != nil {
				return err
			}
			return os.Symlink(target, p)
		}},
		{"folder", "not a regular file", func(p string) error { return os.Mkdir(p, 0o700) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			usersPath := filepath.Join(t.TempDir(), "users.json")
			if err := tc.make(DecoyKeyPath(usersPath)); err != nil {
				t.Fatal(err)
			}
			// WriteFile's mode is masked by the umask: set it exactly.
			if tc.name == "group-readable" {
				os.Chmod(DecoyKeyPath(usersPath), 0o640)
			}
			k, err := DecoyKey(usersPath)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), DecoyKeyPath(usersPath)) {
				t.Fatalf("DecoyKey: %x, %v; want an error saying %q", k, err, tc.want)
			}
		})
	}
}
