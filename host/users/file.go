package users

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xdg-go/scram"

	"github.com/selectftp/selectftp/host/auth"
)

// MaxFileSize bounds the users file: a million users fit, a runaway file
// does not eat the server's memory at every SIGHUP.
const MaxFileSize = 256 << 20

// MaxNameLen is the longest user name.
const MaxNameLen = 64

// fileJSON and userJSON are the file's schema; loading refuses any field
// they do not name.
type fileJSON struct {
	Users []userJSON `json:"users"`
}

type userJSON struct {
	Name      string              `json:"name"`
	Root      string              `json:"root,omitempty"`
	Perms     []string            `json:"perms"`
	PathPerms map[string][]string `json:"path_perms,omitempty"`
	SCRAM     *scramJSON          `json:"scram_sha256"`
	Limits    *limitsJSON         `json:"limits,omitempty"`
}

// limitsJSON is an account's auth.Limits; an absent field is no limit.
// Sizes and rates are bytes (per second for rates).
type limitsJSON struct {
	MaxConns    int   `json:"max_conns,omitempty"`
	RateUp      int64 `json:"rate_up,omitempty"`
	RateDown    int64 `json:"rate_down,omitempty"`
	QuotaBytes  int64 `json:"quota_bytes,omitempty"`
	QuotaFiles  int64 `json:"quota_files,omitempty"`
	MaxFileSize int64 `json:"max_file_size,omitempty"`
}

// scramJSON holds SCRAM-SHA-256 stored credentials; []byte fields are
// base64 in JSON.
type scramJSON struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

func readFile(name string) (map[string]auth.Account, []string, error) {
	fh, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("users file %s is not a regular file", name)
	}
	p, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(p) > MaxFileSize {
		return nil, nil, fmt.Errorf("users file %s is larger than %d bytes", name, MaxFileSize)
	}
	users, err := Parse(p)
	if err != nil {
		return nil, nil, fmt.Errorf("users file %s: %w", name, err)
	}
	var warnings []string
	if m := st.Mode().Perm(); m&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("users file %s has mode %#o: others than its owner may read the stored keys (chmod 600 it)", name, m))
	}
	return users, warnings, nil
}

// Parse reads a users file's contents, refusing unknown fields, bad names,
// repeated names, bad roots, unknown permissions and malformed keys.
func Parse(p []byte) (map[string]auth.Account, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	var fj fileJSON
	if err := dec.Decode(&fj); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("bad JSON: more after the top-level object")
	}
	users := make(map[string]auth.Account, len(fj.Users))
	folded := make(map[string]string, len(fj.Users))
	for i, u := range fj.Users {
		a, err := u.account()
		if err != nil {
			if u.Name != "" && CheckName(u.Name) == nil {
				return nil, fmt.Errorf("user %s: %w", u.Name, err)
			}
			return nil, fmt.Errorf("user #%d: %w", i+1, err)
		}
		low := strings.ToLower(a.Name)
		if prev, ok := folded[low]; ok {
			return nil, fmt.Errorf("user %s: listed twice (as %s too)", a.Name, prev)
		}
		folded[low] = a.Name
		users[a.Name] = a
	}
	return users, nil
}

func (u userJSON) account() (auth.Account, error) {
	a := auth.Account{Name: u.Name, Root: u.Root}
	if a.Root == "" {
		a.Root = a.Name
	}
	var err error
	if a.Perms, err = auth.CheckPerms(u.Perms); err != nil {
		return a, err
	}
	if len(u.PathPerms) > 0 {
		a.PathPerms = make(map[string][]auth.Perm, len(u.PathPerms))
		for k, v := range u.PathPerms {
			if a.PathPerms[k], err = auth.CheckPerms(v); err != nil {
				return a, fmt.Errorf("path_perms %q: %w", k, err)
			}
		}
	}
	if l := u.Limits; l != nil {
		a.Limits = auth.Limits{MaxConns: l.MaxConns, RateUp: l.RateUp, RateDown: l.RateDown,
			QuotaBytes: l.QuotaBytes, QuotaFiles: l.QuotaFiles, MaxFileSize: l.MaxFileSize}
	}
	if u.SCRAM == nil {
		return a, errors.New("no scram_sha256 credentials (set them with selectftpd user passwd)")
	}
	a.Credentials = scram.StoredCredentials{
		KeyFactors: scram.KeyFactors{Salt: string(u.SCRAM.Salt), Iters: u.SCRAM.Iterations},
		StoredKey:  u.SCRAM.StoredKey,
		ServerKey:  u.SCRAM.ServerKey,
	}
	return a, checkAccount(a)
}

// checkAccount is what every account in a file must satisfy.
func checkAccount(a auth.Account) error {
	if err := CheckName(a.Name); err != nil {
		return err
	}
	if err := CheckRoot(a.Root); err != nil {
		return err
	}
	if err := a.Limits.Check(); err != nil {
		return err
	}
	for k := range a.PathPerms {
		if !strings.HasPrefix(k, "/") || path.Clean(k) != k || hasControl(k) {
			return fmt.Errorf("path_perms %q: not a clean virtual path such as /incoming", k)
		}
	}
	c := a.Credentials
	switch {
	case len(c.Salt) < 8:
		return errors.New("scram_sha256: salt missing or shorter than 8 bytes")
	case c.Iters < auth.MinIterations || c.Iters > auth.MaxIterations:
		return fmt.Errorf("scram_sha256: iterations %d outside %d..%d", c.Iters, auth.MinIterations, auth.MaxIterations)
	case len(c.StoredKey) != 32 || len(c.ServerKey) != 32:
		return errors.New("scram_sha256: stored_key and server_key must be 32 bytes each")
	}
	return nil
}

// CheckName validates a user name: 1 to 64 of A-Z a-z 0-9 . _ -, not
// starting with '.' or '-' (no hidden folder, no flag-like name). A name is
// also the default root folder, so nothing else is allowed.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen {
		return fmt.Errorf("bad user name %q: 1 to %d characters", name, MaxNameLen)
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("bad user name %q: must not start with '.' or '-'", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("bad user name %q: only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// CheckRoot validates a root folder: absolute, or relative and inside the
// server's root (no ".." out of it), with no NUL or control character.
func CheckRoot(root string) error {
	if root == "" {
		return errors.New("empty root")
	}
	if hasControl(root) {
		return fmt.Errorf("bad root %q: control characters", root)
	}
	if !filepath.IsAbs(root) && !filepath.IsLocal(root) {
		return fmt.Errorf("bad root %q: a relative root must stay under the server's root", root)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}

// encode renders users sorted by name, so a file diffs line by line.
func encode(users map[string]auth.Account) ([]byte, error) {
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	slices.Sort(names)
	fj := fileJSON{Users: make([]userJSON, 0, len(names))}
	for _, n := range names {
		a := users[n]
		u := userJSON{Name: a.Name, Root: a.Root, Perms: perms(a.Perms)}
		if len(a.PathPerms) > 0 {
			u.PathPerms = make(map[string][]string, len(a.PathPerms))
			for k, v := range a.PathPerms {
				u.PathPerms[k] = perms(v)
			}
		}
		if l := a.Limits; !l.IsZero() {
			u.Limits = &limitsJSON{MaxConns: l.MaxConns, RateUp: l.RateUp, RateDown: l.RateDown,
				QuotaBytes: l.QuotaBytes, QuotaFiles: l.QuotaFiles, MaxFileSize: l.MaxFileSize}
		}
		c := a.Credentials
		u.SCRAM = &scramJSON{Salt: []byte(c.Salt), Iterations: c.Iters, StoredKey: c.StoredKey, ServerKey: c.ServerKey}
		fj.Users = append(fj.Users, u)
	}
	p, err := json.MarshalIndent(fj, "", "  ")
	return append(p, '\n'), err
}

func perms(ps []auth.Perm) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return out
}

func dirOf(name string) string { return filepath.Dir(name) }
