package auth

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

// testIters keeps PBKDF2 cheap under -race; one test runs the default.
const testIters = MinIterations

// converse runs a whole SCRAM-SHA-256 conversation between a real client
// holding password and a real server holding creds, as the login will.
func converse(t *testing.T, creds scram.StoredCredentials, password string) error {
	t.Helper()
	srv, err := scram.SHA256.NewServer(func(string) (scram.StoredCredentials, error) { return creds, nil })
	if err != nil {
		t.Fatal(err)
	}
	cl, err := scram.SHA256.NewClient("alice", password, "")
	if err != nil {
		t.Fatal(err)
	}
	cc, sc := cl.NewConversation(), srv.NewConversation()
	msg, err := cc.Step("")
	for i := 0; err == nil && !cc.Done(); i++ {
		if i > 4 {
			t.Fatal("conversation does not end")
		}
		if msg, err = sc.Step(msg); err != nil {
			break
		}
		msg, err = cc.Step(msg)
	}
	if err == nil && !sc.Valid() {
		err = errors.New("server did not validate")
	}
	return err
}

func TestCredentialsRoundTrip(t *testing.T) {
	for _, iters := range []int{testIters, DefaultIterations} {
		c, err := NewCredentials("correct horse", iters)
		if err != nil {
			t.Fatal(err)
		}
		if c.Iters != iters || len(c.Salt) != saltSize || len(c.StoredKey) != 32 || len(c.ServerKey) != 32 {
			t.Fatalf("credentials %+v", c.KeyFactors)
		}
		if err := converse(t, c, "correct horse"); err != nil {
			t.Fatalf("right password refused: %v", err)
		}
		if err := converse(t, c, "correct horsf"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
}

func TestCredentialsSaltIsFresh(t *testing.T) {
	a, _ := NewCredentials("pw", testIters)
	b, _ := NewCredentials("pw", testIters)
	if a.Salt == b.Salt || bytes.Equal(a.StoredKey, b.StoredKey) {
		t.Fatal("two users with one password share a salt: one cracked is both cracked")
	}
}

func TestCredentialsRefused(t *testing.T) {
	for _, tc := range []struct {
		pw    string
		iters int
	}{{"", testIters}, {"\u00AD", testIters}, {"pw", MinIterations - 1}, {"pw", MaxIterations + 1}, {"pw", 0}} {
		if _, err := NewCredentials(tc.pw, tc.iters); err == nil {
			t.Errorf("NewCredentials(%q, %d) succeeded", tc.pw, tc.iters)
		}
	}
	_, err := NewCredentials("a\u0007secret", testIters) // a control char SASLprep refuses
	if err == nil || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "\u0007") {
		t.Fatalf("error %v must say no part of the password", err)
	}
}

func TestCredentialsSASLprep(t *testing.T) {
	// RFC 4013: U+00AD (soft hyphen) maps to nothing; the client preps too.
	c, err := NewCredentials("I\u00ADX", testIters)
	if err != nil {
		t.Fatal(err)
	}
	if err := converse(t, c, "IX"); err != nil {
		t.Fatalf("prepped password refused: %v", err)
	}
}

func TestCheckPassword(t *testing.T) {
	c, err := NewCredentials("s3cret", testIters)
	if err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(c, "s3cret") {
		t.Error("right password refused")
	}
	for _, pw := range []string{"s3cre", "s3cret ", "S3cret", ""} {
		if CheckPassword(c, pw) {
			t.Errorf("CheckPassword accepted %q", pw)
		}
	}
	if CheckPassword(scram.StoredCredentials{}, "s3cret") {
		t.Error("zero credentials accepted a password")
	}
	bad := c
	bad.ServerKey = make([]byte, 32) // a file with a right stored key and a forged server key
	if CheckPassword(bad, "s3cret") {
		t.Error("credentials with a wrong server key accepted")
	}
}

func TestDecoys(t *testing.T) {
	d := NewDecoys()
	if c := d.For("x"); c.Iters != DefaultIterations {
		t.Fatalf("decoys advertise %d iterations, users have %d", c.Iters, DefaultIterations)
	}
	d.iters = testIters // the conversation below derives the client's key
	a1, a2, b := d.For("alice"), d.For("alice"), d.For("bob")
	if a1.Salt != a2.Salt || !bytes.Equal(a1.StoredKey, a2.StoredKey) || a1.Iters != a2.Iters {
		t.Fatal("one name, two decoys: a second try tells the user does not exist")
	}
	if a1.Salt == b.Salt || len(a1.Salt) != saltSize {
		t.Fatal("decoy salts must differ per name and look like real ones")
	}
	if other := NewDecoys().For("alice"); other.Salt == a1.Salt {
		t.Fatal("decoys must depend on a per-process key")
	}
	for _, pw := range []string{"", "alice", "password", "\x00"} {
		if CheckPassword(a1, pw) {
			t.Errorf("decoy verified %q", pw)
		}
	}
	if err := converse(t, a1, "alice"); err == nil {
		t.Fatal("a SCRAM login against a decoy succeeded")
	}
}

func TestParsePerms(t *testing.T) {
	got, err := ParsePerms(" list, read ,list")
	if err != nil || FormatPerms(got) != "list,read" {
		t.Fatalf("ParsePerms = %v, %v", got, err)
	}
	if got, err := ParsePerms(""); err != nil || len(got) != 0 {
		t.Fatalf(`ParsePerms("") = %v, %v`, got, err)
	}
	all, err := ParsePerms("list,read,write,delete,mkdir,rename")
	if err != nil || FormatPerms(all) != FormatPerms(AllPerms()) {
		t.Fatalf("all six: %v, %v", all, err)
	}
	for _, bad := range []string{"list,wrte", "read,", "LIST", "admin"} {
		_, err := ParsePerms(bad)
		if err == nil || !strings.Contains(err.Error(), "unknown permission") {
			t.Errorf("ParsePerms(%q) = %v", bad, err)
		}
	}
	if _, err := ParsePerms("list,wrte"); !strings.Contains(err.Error(), `"wrte"`) {
		t.Errorf("error %v does not name the typo", err)
	}
	AllPerms()[0] = "root"
	if AllPerms()[0] != PermList {
		t.Fatal("AllPerms shares its slice with callers")
	}
}

func TestAllows(t *testing.T) {
	a := Account{
		Perms: []Perm{PermList, PermRead},
		PathPerms: map[string][]Perm{
			"/inc":          {PermList, PermWrite},
			"/inc/private":  {},
			"/pub/":         {PermList}, // an unclean key, as an embedding program may write
			"/shared/a/b/c": {PermDelete},
		},
	}
	for _, tc := range []struct {
		p    Perm
		path string
		want bool
	}{
		{PermRead, "/", true},
		{PermRead, "/x/y", true},
		{PermWrite, "/x", false},
		{PermWrite, "/inc", true},
		{PermWrite, "/inc/", true},
		{PermWrite, "/inc/f", true},
		{PermRead, "/inc/f", false},
		{PermWrite, "/incoming", false}, // element boundary: "/inc" is not a prefix of "/incoming"
		{PermRead, "/incoming/f", true},
		{PermWrite, "/inc/private/f", false}, // the longest match wins, even when it grants nothing
		{PermList, "/inc/private", false},
		{PermList, "/inc/privateer", true},
		{PermWrite, "/x/../inc/f", true},
		{PermWrite, "inc/f", true},
		{PermWrite, "/inc/../etc", false},
		{PermRead, "/pub/f", false},
		{PermList, "/pub", true},
		{PermDelete, "/shared/a/b/c/d", true},
		{PermDelete, "/shared/a/b", false},
	} {
		if got := a.Allows(tc.p, tc.path); got != tc.want {
			t.Errorf("Allows(%s, %q) = %v, want %v", tc.p, tc.path, got, tc.want)
		}
	}
	tie := Account{PathPerms: map[string][]Perm{"/a": {PermList, PermRead}, "/a/": {PermList, PermWrite}}}
	for i := 0; i < 20; i++ { // map order varies between loops
		if tie.Allows(PermRead, "/a/f") || tie.Allows(PermWrite, "/a/f") || !tie.Allows(PermList, "/a/f") {
			t.Fatal("two keys for one path: only what both grant may be granted")
		}
	}
}

// TestDecoysKey: decoys made with one key are the same in every process
// (a restart does not change an unknown name's salt, as it does not change
// a real one's), another key gives others, and a key of the wrong size is
// refused.
func TestDecoysKey(t *testing.T) {
	key := bytes.Repeat([]byte{7}, DecoyKeySize)
	d1, err := NewDecoysKey(key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] = 8 // the Decoys keeps its own copy
	d2, _ := NewDecoysKey(bytes.Repeat([]byte{7}, DecoyKeySize))
	a, b := d1.For("mallory"), d2.For("mallory")
	if a.Salt != b.Salt || !bytes.Equal(a.StoredKey, b.StoredKey) || a.Iters != DefaultIterations || b.Iters != DefaultIterations {
		t.Fatalf("one key, two processes: salts %x and %x, iterations %d and %d", a.Salt, b.Salt, a.Iters, b.Iters)
	}
	if other, _ := NewDecoysKey(key); other.For("mallory").Salt == a.Salt {
		t.Fatal("another key gave the same decoy")
	}
	for _, n := range []int{0, 16, DecoyKeySize - 1, DecoyKeySize + 1} {
		if _, err := NewDecoysKey(make([]byte, n)); err == nil {
			t.Errorf("a %d-byte decoy key was accepted", n)
		}
	}
}
