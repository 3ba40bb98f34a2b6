package plugins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// walkFixture makes base/real/plugins (a trusted plugins folder holding
// one plugin) and base/sticky, a world-writable sticky folder like /tmp.
func walkFixture(t *testing.T) (base, plugins, sticky string) {
	t.Helper()
	base = t.TempDir()
	plugins = filepath.Join(base, "real", "plugins")
	sticky = filepath.Join(base, "sticky")
	for _, d := range []string{plugins, sticky, filepath.Join(base, "deep", "x")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(sticky, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(plugins, "good"), fakeELF, 0o755)
	return base, plugins, sticky
}

func symlink(t *testing.T, target, link string, uid int) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, uid, uid); err != nil {
		t.Fatal(err)
	}
}

// discoverIn runs discover on dir and returns the names found and the error.
func discoverIn(t *testing.T, dir string) ([]string, error) {
	t.Helper()
	m, _ := testManager(dir)
	found, err := m.discover()
	var names []string
	for path, c := range found {
		c.f.Close()
		names = append(names, filepath.Base(path))
	}
	return names, err
}

// Another user's symlink on the plugins path, in a sticky world-writable
// folder (a ./plugins.d link planted in /tmp), is not followed: its owner
// could retarget it between two scans to any folder with a trusted chain.
// The same link owned by root is.
func TestForeignLinkOnPluginsPathRefused(t *testing.T) {
	_, plugins, sticky := walkFixture(t)
	link := filepath.Join(sticky, "plugins.d")
	symlink(t, plugins, link, nobody)
	names, err := discoverIn(t, link)
	if err == nil || len(names) != 0 {
		t.Fatalf("another user's link to the plugins folder was followed: found %v, error %v", names, err)
	}
	for _, want := range []string{"symbolic link " + link, "owned by uid 65534", "not followed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	// The refusal is lasting: a running plugin under it is stopped.
	if !settled(err) {
		t.Errorf("the refusal %q is taken for a passing error", err)
	}
	// Relative to the working folder, as the default ./plugins.d is.
	t.Chdir(sticky)
	if names, err := discoverIn(t, "plugins.d"); err == nil || len(names) != 0 {
		t.Fatalf("./plugins.d, another user's link, was followed: found %v, error %v", names, err)
	}

	if err := os.Lchown(link, 0, 0); err != nil {
		t.Fatal(err)
	}
	if names, err := discoverIn(t, link); err != nil || len(names) != 1 {
		t.Fatalf("root's link to a trusted folder: found %v, error %v", names, err)
	}
}

// Links the server may follow are followed as the kernel would: chains,
// relative targets, ".." after a link (the link target's parent), and a
// loop ends with a clear error.
func TestPluginsPathLinks(t *testing.T) {
	base, plugins, _ := walkFixture(t)
	me := os.Getuid()
	symlink(t, plugins, filepath.Join(base, "l2"), me)
	symlink(t, "l2", filepath.Join(base, "l1"), me) // l1 -> l2 -> plugins
	symlink(t, "../real/plugins", filepath.Join(base, "deep", "up"), me)
	// hop/.. is base/deep, not base: lexical cleaning would get it wrong.
	symlink(t, "deep/x", filepath.Join(base, "hop"), me)
	symlink(t, "hop/../../real/plugins", filepath.Join(base, "via"), me)
	symlink(t, "loop2", filepath.Join(base, "loop1"), me)
	symlink(t, "loop1", filepath.Join(base, "loop2"), me)
	for _, dir := range []string{
		filepath.Join(base, "l1"),
		filepath.Join(base, "deep", "up"),
		filepath.Join(base, "via"),
		base + "/hop/../../real/./plugins", // the same walk, configured
	} {
		if names, err := discoverIn(t, dir); err != nil || len(names) != 1 || names[0] != "good" {
			t.Errorf("%s: found %v, error %v", dir, names, err)
		}
	}
	// A trusted link to an untrusted folder: the target's chain is checked.
	bad := filepath.Join(base, "bad")
	os.Mkdir(bad, 0o755)
	os.Chmod(bad, 0o777)
	symlink(t, bad, filepath.Join(base, "tobad"), me)
	if _, err := discoverIn(t, filepath.Join(base, "tobad")); err == nil || !strings.Contains(err.Error(), bad+" is writable") {
		t.Errorf("a link to a world-writable folder gave %v", err)
	}
	_, err := discoverIn(t, filepath.Join(base, "loop1"))
	if err == nil || !strings.Contains(err.Error(), "too many levels of symbolic links") {
		t.Fatalf("a link loop gave %v", err)
	}
}
