package users

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/selectftp/selectftp/host/auth"
)

const testIters = auth.MinIterations

func account(t testing.TB, name, password string) auth.Account {
	t.Helper()
	c, err := auth.NewCredentials(password, testIters)
	if err != nil {
		t.Fatal(err)
	}
	return auth.Account{
		Name:        name,
		Perms:       []auth.Perm{auth.PermList, auth.PermRead},
		PathPerms:   map[string][]auth.Perm{"/incoming": {auth.PermList, auth.PermWrite}},
		Credentials: c,
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	f := New(path)
	f.Iterations = testIters
	if err := f.Add(account(t, "alice", "pw-a")); err != nil {
		t.Fatal(err)
	}
	bob := account(t, "bob", "pw-b")
	bob.Root = "/srv/ftp/bob"
	if err := f.Add(bob); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("users file mode %#o, want 0600", st.Mode().Perm())
	}
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if w := g.Warnings(); len(w) != 0 {
		t.Fatalf("warnings on a 0600 file: %v", w)
	}
	a, err := g.Lookup("alice")
	if err != nil {
		t.Fatal(err)
	}
	if a.Root != "alice" || auth.FormatPerms(a.Perms) != "list,read" || auth.FormatPerms(a.PathPerms["/incoming"]) != "list,write" {
		t.Fatalf("alice came back as %+v", a)
	}
	if !auth.CheckPassword(a.Credentials, "pw-a") || auth.CheckPassword(a.Credentials, "pw-b") {
		t.Fatal("alice's credentials did not survive the round trip")
	}
	b, _ := g.Lookup("bob")
	if b.Root != "/srv/ftp/bob" || !auth.CheckPassword(b.Credentials, "pw-b") {
		t.Fatalf("bob came back as %+v", b)
	}
	if _, err := g.Lookup("carol"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Fatalf("unknown user: %v", err)
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), "pw-a") {
		t.Fatal("the file holds a password")
	}
	// What Lookup returns is a copy: changing it changes nothing stored.
	a.Perms[0] = auth.PermDelete
	a.PathPerms["/incoming"][0] = auth.PermDelete
	again, _ := g.Lookup("alice")
	if again.Perms[0] != auth.PermList || again.PathPerms["/incoming"][0] != auth.PermList {
		t.Fatal("Lookup shares its slices with the store")
	}
}

func TestSetPasswordDeleteList(t *testing.T) {
	f := New(filepath.Join(t.TempDir(), "u.json"))
	f.Iterations = testIters
	f.Add(account(t, "bob", "old"))
	f.Add(account(t, "alice", "x"))
	if err := f.SetPassword("bob", "new"); err != nil {
		t.Fatal(err)
	}
	b, _ := f.Lookup("bob")
	if !auth.CheckPassword(b.Credentials, "new") || auth.CheckPassword(b.Credentials, "old") {
		t.Fatal("passwd did not replace the credentials")
	}
	if err := f.SetPassword("bob", ""); err == nil {
		t.Fatal("empty password accepted")
	}
	if err := f.SetPassword("nobody", "x"); err == nil {
		t.Fatal("passwd of an unknown user succeeded")
	}
	if l := f.List(); len(l) != 2 || l[0].Name != "alice" || l[1].Name != "bob" {
		t.Fatalf("List = %v", l)
	}
	if err := f.Delete("alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("alice"); err == nil {
		t.Fatal("deleting twice succeeded")
	}
	if _, err := f.Lookup("alice"); !errors.Is(err, auth.ErrUnknownUser) {
		t.Fatal("deleted user still found")
	}
}

func TestAddRefusesRepeats(t *testing.T) {
	f := New(filepath.Join(t.TempDir(), "u.json"))
	if err := f.Add(account(t, "alice", "x")); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alice", "Alice"} {
		if err := f.Add(account(t, n, "y")); !errors.Is(err, ErrExists) {
			t.Errorf("Add(%s) = %v, want ErrExists", n, err)
		}
	}
	a, _ := f.Lookup("alice")
	if !auth.CheckPassword(a.Credentials, "x") {
		t.Fatal("a refused Add replaced the user")
	}
	noCreds := auth.Account{Name: "carol"}
	if err := f.Add(noCreds); err == nil {
		t.Fatal("an account without credentials was added")
	}
}

func TestWarnsOnOpenMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.json")
	f := New(path)
	f.Add(account(t, "alice", "x"))
	if err := f.Save(); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if w := g.Warnings(); len(w) != 1 || !strings.Contains(w[0], "0644") {
		t.Fatalf("warnings = %v", w)
	}
	// Save puts it back to 0600.
	if err := g.Save(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode after Save %#o", st.Mode().Perm())
	}
}

// validUser is one good user line, for tests that change one thing.
func validUser(t testing.TB, name string) string {
	f := New("")
	f.Add(account(t, name, "pw"))
	p, err := encode(f.users)
	if err != nil {
		t.Fatal(err)
	}
	s := string(p)
	return s[strings.Index(s, "[")+1 : strings.LastIndex(s, "]")]
}

func TestParseRefuses(t *testing.T) {
	good := validUser(t, "alice")
	if _, err := Parse([]byte(`{"users":[` + good + `]}`)); err != nil {
		t.Fatalf("the valid user is refused: %v", err)
	}
	repl := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("%q not in %s", old, good)
		}
		return `{"users":[` + strings.Replace(good, old, new, 1) + `]}`
	}
	for _, tc := range []struct{ name, file, want string }{
		{"unknown top field", `{"users":[],"admins":[]}`, `"admins"`},
		{"unknown user field", repl(`"perms"`, `"perm"`), `"perm"`},
		{"unknown scram field", repl(`"iterations"`, `"iters"`), `"iters"`},
		{"duplicate", `{"users":[` + good + `,` + good + `]}`, "listed twice"},
		{"duplicate by case", `{"users":[` + good + `,` + validUser(t, "ALICE") + `]}`, "listed twice"},
		{"unknown perm", repl(`"read"`, `"admin"`), `"admin"`},
		{"unknown path perm", repl(`"write"`, `"wrte"`), `"wrte"`},
		{"unclean path_perms key", repl(`"/incoming"`, `"/incoming/"`), "clean virtual path"},
		{"relative path_perms key", repl(`"/incoming"`, `"incoming"`), "clean virtual path"},
		{"root escapes", repl(`"root": "alice"`, `"root": "../etc"`), "stay under"},
		{"root with NUL", repl(`"root": "alice"`, `"root": "a\u0000b"`), "control"},
		{"no credentials", `{"users":[{"name":"alice","perms":[]}]}`, "no scram_sha256"},
		{"few iterations", repl(`"iterations": 4096`, `"iterations": 1`), "iterations"},
		{"many iterations", repl(`"iterations": 4096`, `"iterations": 999999999`), "iterations"},
		{"short key", `{"users":[{"name":"alice","scram_sha256":{"salt":"c2FsdHNhbHQ=","iterations":4096,"stored_key":"AA==","server_key":"AA=="}}]}`, "32 bytes"},
		{"trailing data", `{"users":[]} {}`, "more after"},
		{"not JSON", `users: alice`, "bad JSON"},
		{"empty", ``, "bad JSON"},
	} {
		_, err := Parse([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one saying %s", tc.name, err, tc.want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"alice", "a", "A.b_c-9", "bob.smith", strings.Repeat("x", 64)} {
		if err := CheckName(n); err != nil {
			t.Errorf("CheckName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", ".alice", "-alice", "..", "a/b", "a b", "a:b", "al\x00ice", "ali\nce", "élise", strings.Repeat("x", 65), "a\\b", "a,b"} {
		if err := CheckName(n); err == nil {
			t.Errorf("CheckName(%q) accepted", n)
		}
		// And a file naming such a user is refused whole.
		line := strings.Replace(validUser(t, "alice"), `"name": "alice"`, `"name": `+jsonString(n), 1)
		if _, err := Parse([]byte(`{"users":[` + line + `]}`)); err == nil {
			t.Errorf("a file with user %q was loaded", n)
		}
	}
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case r < 0x20:
			b.WriteString(`\u00` + "0123456789abcdef"[r>>4:r>>4+1] + "0123456789abcdef"[r&15:r&15+1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String() + `"`
}

func TestReloadKeepsOldUsersOnBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.json")
	f := New(path)
	f.Add(account(t, "alice", "x"))
	f.Save()
	g, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, []byte(`{"users":[{"name":"alice","perm":["write"]}]}`), 0o600)
	if err := g.Reload(); err == nil || !strings.Contains(err.Error(), `"perm"`) {
		t.Fatalf("Reload of a bad file = %v", err)
	}
	if a, err := g.Lookup("alice"); err != nil || !auth.CheckPassword(a.Credentials, "x") {
		t.Fatalf("old users lost after a bad reload: %v", err)
	}
	os.Remove(path)
	if err := g.Reload(); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
	if _, err := g.Lookup("alice"); err != nil {
		t.Fatal("old users lost after a missing file")
	}
	// A good file replaces them all at once.
	h := New(path)
	h.Add(account(t, "bob", "y"))
	h.Save()
	if err := g.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Lookup("alice"); err == nil {
		t.Fatal("alice survived a reload without her")
	}
	if _, err := g.Lookup("bob"); err != nil {
		t.Fatal(err)
	}
}

func TestReloadWhileLookingUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.json")
	f := New(path)
	f.Add(account(t, "alice", "x"))
	f.Save()
	g, _ := Load(path)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			if _, err := g.Lookup("alice"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 20; i++ {
		if err := g.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
}

func TestLoadRefusesNonRegular(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("a folder loaded as a users file")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"users":[` + validUser(f, "alice") + `]}`))
	f.Add([]byte(`{"users":[{"name":"a","root":"../x","perms":["read"],"path_perms":{"/":["list"]}}]}`))
	f.Add([]byte(`{"users":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, p []byte) {
		users, err := Parse(p)
		if err != nil {
			return
		}
		// Whatever loads must save and load back the same.
		q, err := encode(users)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(q)
		if err != nil {
			t.Fatalf("a loaded file does not load after saving: %v\n%s", err, q)
		}
		if len(again) != len(users) {
			t.Fatalf("%d users became %d", len(users), len(again))
		}
		for n, a := range users {
			if CheckName(n) != nil || CheckRoot(a.Root) != nil {
				t.Fatalf("loaded a bad user %q root %q", n, a.Root)
			}
		}
	})
}
