// Package users is selectftpd's users file: the accounts an operator manages
// with `selectftpd user`, read by the server at start and on SIGHUP.
//
// The file is JSON and holds SCRAM stored keys, never a password:
//
//	{"users":[{"name":"alice","root":"alice","perms":["list","read"],
//	  "path_perms":{"/incoming":["list","write"]},
//	  "scram_sha256":{"salt":"<base64>","iterations":600000,
//	                  "stored_key":"<base64>","server_key":"<base64>"},
//	  "limits":{"max_conns":2,"rate_up":524288,"rate_down":524288,
//	            "quota_bytes":1073741824,"quota_files":1000,"max_file_size":8388608}}]}
//
// Every limit is optional (absent: none); sizes are bytes, rates bytes/s.
//
// Loading is strict: an unknown field, a bad name, a repeated name or a bad
// key refuses the whole file, since a typo ("perm" for "perms") that was
// skipped would silently grant or deny.
package users

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/selectftp/selectftp/host/auth"
)

// ErrExists is Add's error for a name the file already has.
var ErrExists = errors.New("user exists")

// File is a users file in memory. It is an auth.Store, safe for concurrent
// use: logins look users up while Reload swaps the whole set at once.
type File struct {
	path string
	// Iterations is the PBKDF2 count SetPassword derives keys with;
	// 0 is auth.DefaultIterations.
	Iterations int

	mu       sync.RWMutex
	users    map[string]auth.Account
	warnings []string
}

var _ auth.Store = (*File)(nil)

// New returns an empty File that Save will write to path.
func New(path string) *File {
	return &File{path: path, users: map[string]auth.Account{}}
}

// Load reads the users file at path. A file others may read or write is
// loaded but noted in Warnings: the server should log it.
func Load(path string) (*File, error) {
	f := New(path)
	if err := f.Reload(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path is the file's location.
func (f *File) Path() string { return f.path }

// Reload reads the file again and replaces every user at once. On any error
// the users loaded before stay, so a bad edit followed by SIGHUP leaves the
// server serving the last good file.
func (f *File) Reload() error {
	users, warnings, err := readFile(f.path)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.users, f.warnings = users, warnings
	f.mu.Unlock()
	return nil
}

// Warnings are what the last successful load found wrong without refusing
// the file (its mode), one sentence each.
func (f *File) Warnings() []string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.warnings)
}

// Lookup returns the account called name, or an error matching
// auth.ErrUnknownUser. The account is a copy the caller may keep.
func (f *File) Lookup(name string) (auth.Account, error) {
	f.mu.RLock()
	a, ok := f.users[name]
	f.mu.RUnlock()
	if !ok {
		return auth.Account{}, auth.ErrUnknownUser
	}
	return clone(a), nil
}

// List returns every account, sorted by name.
func (f *File) List() []auth.Account {
	f.mu.RLock()
	out := make([]auth.Account, 0, len(f.users))
	for _, a := range f.users {
		out = append(out, clone(a))
	}
	f.mu.RUnlock()
	slices.SortFunc(out, func(a, b auth.Account) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Add adds a, which must have credentials (auth.NewCredentials). An empty
// Root is the name. Names differing only in case are refused as repeats:
// their default roots would be one folder on a case-insensitive disk.
func (f *File) Add(a auth.Account) error {
	a = clone(a)
	if a.Root == "" {
		a.Root = a.Name
	}
	if err := checkAccount(a); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.findFold(a.Name); n != "" {
		return fmt.Errorf("%w: %s", ErrExists, n)
	}
	f.users[a.Name] = a
	return nil
}

// SetPassword gives name new credentials derived from password.
func (f *File) SetPassword(name, password string) error {
	iters := f.Iterations
	if iters == 0 {
		iters = auth.DefaultIterations
	}
	f.mu.RLock()
	_, ok := f.users[name]
	f.mu.RUnlock()
	if !ok {
		return fmt.Errorf("no user %s", name)
	}
	c, err := auth.NewCredentials(password, iters) // slow: outside the lock
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.users[name]
	if !ok {
		return fmt.Errorf("no user %s", name)
	}
	a.Credentials = c
	f.users[name] = a
	return nil
}

// Delete removes name.
func (f *File) Delete(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.users[name]; !ok {
		return fmt.Errorf("no user %s", name)
	}
	delete(f.users, name)
	return nil
}

// Save writes every user to the file atomically with mode 0600: readers
// see the old file or the new one, never a part, even after a crash.
func (f *File) Save() error {
	f.mu.RLock()
	p, err := encode(f.users)
	f.mu.RUnlock()
	if err != nil {
		return err
	}
	return writeAtomic(f.path, p)
}

func (f *File) findFold(name string) string {
	for n := range f.users {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}

// clone copies a's slices and maps, so no caller can change the store.
func clone(a auth.Account) auth.Account {
	a.Perms = slices.Clone(a.Perms)
	if a.PathPerms != nil {
		pp := make(map[string][]auth.Perm, len(a.PathPerms))
		for k, v := range a.PathPerms {
			pp[k] = slices.Clone(v)
		}
		a.PathPerms = pp
	}
	a.Credentials.StoredKey = slices.Clone(a.Credentials.StoredKey)
	a.Credentials.ServerKey = slices.Clone(a.Credentials.ServerKey)
	return a
}

// writeAtomic writes p to a temporary file beside path, syncs it, and
// renames it over path, then syncs the folder so the rename survives a
// crash.
func writeAtomic(path string, p []byte) (err error) {
	dir := dirOf(path)
	tmp, err := os.CreateTemp(dir, ".users-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes 0600 files; Chmod states it against any umask quirk.
	if err = tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err = tmp.Write(p); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
