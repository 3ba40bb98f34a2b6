package plugins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// The unit tests of Scan's rules: a new file is loaded, a replaced one
// restarted, an unsafe one refused (and said once), a second file serving a
// verb skipped, a removed one stopped. They run the real upper plugin.

// builds holds the upper plugin built once per test binary: plain, and
// stripped (a different build of the same verb).
var builds struct {
	once         sync.Once
	dir          string
	plain, strip string
	err          error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
	}
	os.Exit(code)
}

// upperBuilds returns the paths of two different builds of upper, built at
// the first call.
func upperBuilds(t *testing.T) (plain, stripped string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	builds.once.Do(func() {
		builds.dir, builds.err = os.MkdirTemp("", "selectftp-scan-test")
		if builds.err != nil {
			return
		}
		builds.plain = filepath.Join(builds.dir, "upper")
		builds.strip = filepath.Join(builds.dir, "upper-stripped")
		for _, b := range []struct{ out, flags string }{{builds.plain, ""}, {builds.strip, "-s -w"}} {
			cmd := exec.Command("go", "build", "-ldflags="+b.flags, "-o", b.out, "github.com/selectftp/selectftp/plugins/upper/plugin")
			if out, err := cmd.CombinedOutput(); err != nil {
				builds.err = fmt.Errorf("build the upper plugin (%q): %v\n%s", b.flags, err, out)
				return
			}
		}
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.plain, builds.strip
}

// install puts a copy of src at dst by atomic rename, as an installer does,
// so that a scan never sees half a file.
func install(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	writeFile(t, tmp, string(b), mode)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// table stands in for the host's dispatch table: one file per verb, a
// second one is an error, and Unregister removes a verb only for the file
// that serves it.
type table struct {
	mu       sync.Mutex
	verbs    map[string]*proc
	events   []string // "+verb path", "-verb path", "!verb path" (refused)
	rejected []int    // pids of the processes whose Register failed
}

func (r *table) register(cmd sdk.Command, path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := cmd.(*proc)
	verb := cmd.Describe().Verb
	if old, ok := r.verbs[verb]; ok {
		r.events = append(r.events, "!"+verb+" "+filepath.Base(path))
		r.rejected = append(r.rejected, pidOf(p))
		return fmt.Errorf("verb %q is already served by %s", verb, old.path)
	}
	r.verbs[verb] = p
	r.events = append(r.events, "+"+verb+" "+filepath.Base(path))
	return nil
}

func (r *table) unregister(verb, path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "-"+verb+" "+filepath.Base(path))
	if p, ok := r.verbs[verb]; ok && p.path == path {
		delete(r.verbs, verb)
	}
}

// served returns the command serving verb, or nil.
func (r *table) served(verb string) *proc {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.verbs[verb]
}

// took returns the events since the last call.
func (r *table) took() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// pidOf returns the pid of p's live process, 0 if none.
func pidOf(p *proc) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	return p.cur.cmd.Process.Pid
}

// scanManager returns a manager of dir registering into a fresh table,
// without health pings (they are not what these tests look at).
func scanManager(t *testing.T, dir string) (*Manager, *logBuf, *table) {
	m, log := testManager(dir)
	tb := &table{verbs: map[string]*proc{}}
	m.cfg.Register, m.cfg.Unregister = tb.register, tb.unregister
	m.cfg.HealthInterval = -1
	t.Cleanup(m.Close)
	return m, log, tb
}

func scan(t *testing.T, m *Manager, log *logBuf) {
	t.Helper()
	if err := m.Scan(context.Background()); err != nil {
		t.Fatalf("scan: %v\n%s", err, log)
	}
}

// serves checks that the table's upper runs a request on a live process
// and returns that process's pid.
func serves(t *testing.T, tb *table, log *logBuf) int {
	t.Helper()
	p := tb.served("upper")
	if p == nil {
		t.Fatalf("upper is not registered\n%s", log)
	}
	if r := sdktest.Run(t, p, sdktest.Request{Args: []string{"a"}}); string(r.Body) != "A\n" {
		t.Fatalf("a request to upper: %+v\n%s", r, log)
	}
	return pidOf(p)
}

// waitGone waits, bounded, for pid to exit.
func waitGone(t *testing.T, what string, pid int) {
	t.Helper()
	if pid == 0 {
		t.Fatalf("%s: no pid", what)
	}
	poll(t, what+" (pid "+fmt.Sprint(pid)+") to exit", 10*time.Second, func() bool { return gone(pid) })
}

// A new file is registered and served; removed, it is unregistered and its
// process stopped; a rescan in between changes nothing.
func TestScanLoadsNewAndStopsRemoved(t *testing.T) {
	plain, _ := upperBuilds(t)
	dir := t.TempDir()
	m, log, tb := scanManager(t, dir)
	scan(t, m, log)
	if ev := tb.took(); len(ev) != 0 {
		t.Fatalf("an empty folder registered %v", ev)
	}
	install(t, plain, filepath.Join(dir, "upper"), 0o755)
	scan(t, m, log)
	if ev := tb.took(); !slices.Equal(ev, []string{"+upper upper"}) {
		t.Fatalf("a new file gave %v, want it registered\n%s", ev, log)
	}
	pid := serves(t, tb, log)
	scan(t, m, log)
	if ev := tb.took(); len(ev) != 0 || serves(t, tb, log) != pid {
		t.Fatalf("a rescan of an unchanged folder gave %v (pid %d then %d)", ev, pid, pidOf(tb.served("upper")))
	}

	if err := os.Remove(filepath.Join(dir, "upper")); err != nil {
		t.Fatal(err)
	}
	scan(t, m, log)
	if ev := tb.took(); !slices.Equal(ev, []string{"-upper upper"}) || tb.served("upper") != nil || len(m.Verbs()) != 0 {
		t.Fatalf("a removed file gave %v, verbs %v; want it unregistered\n%s", ev, m.Verbs(), log)
	}
	waitGone(t, "the removed plugin's process", pid)
}

// A replaced binary is stopped and its replacement started under the same
// verb, whatever the change: a new build by atomic rename, the same file
// touched in place, or a new mode.
func TestScanRestartsReplaced(t *testing.T) {
	plain, stripped := upperBuilds(t)
	cases := []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"a different build, renamed over it", func(t *testing.T, path string) {
			install(t, stripped, path, 0o755)
		}},
		{"the same build, renamed over it (new inode)", func(t *testing.T, path string) {
			install(t, plain, path, 0o755)
		}},
		// A running binary cannot be rewritten in place (ETXTBSY); an
		// installer that copies over it must wait, and its touch is seen.
		{"touched in place (same inode, new mtime)", func(t *testing.T, path string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
		}},
		{"re-permissioned (still safe)", func(t *testing.T, path string) {
			if err := os.Chmod(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "upper")
			install(t, plain, path, 0o755)
			m, log, tb := scanManager(t, dir)
			scan(t, m, log)
			tb.took()
			old := tb.served("upper")
			oldPid := serves(t, tb, log)

			c.change(t, path)
			scan(t, m, log)
			if ev := tb.took(); !slices.Equal(ev, []string{"-upper upper", "+upper upper"}) {
				t.Fatalf("the replacement gave %v, want unregister then register\n%s", ev, log)
			}
			if tb.served("upper") == old {
				t.Fatal("the replaced binary's command is still registered")
			}
			if newPid := serves(t, tb, log); newPid == oldPid {
				t.Fatalf("the replacement runs on the old process %d", oldPid)
			}
			waitGone(t, "the replaced binary's process", oldPid)
			if !slices.Equal(m.Verbs(), []string{"upper"}) {
				t.Fatalf("verbs %v after a replacement", m.Verbs())
			}
		})
	}
}

// An unsafe file is not run, its refusal is logged once however many scans
// see it, and it is loaded once fixed. A running plugin whose file becomes
// unsafe is stopped.
func TestScanRefusesUnsafe(t *testing.T) {
	plain, _ := upperBuilds(t)
	cases := []struct {
		name        string
		spoil, fix  func(path string) error
		wantLogSays string
	}{
		{"group-writable",
			func(p string) error { return os.Chmod(p, 0o775) },
			func(p string) error { return os.Chmod(p, 0o755) },
			"is writable by group"},
		{"foreign-owned",
			func(p string) error { return os.Chown(p, nobody, nobody) },
			func(p string) error { return os.Chown(p, os.Getuid(), os.Getgid()) },
			"is owned by uid 65534"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "upper")
			install(t, plain, path, 0o755)
			if err := c.spoil(path); err != nil {
				t.Fatal(err)
			}
			m, log, tb := scanManager(t, dir)
			for range 3 {
				scan(t, m, log)
			}
			if ev := tb.took(); len(ev) != 0 || len(m.Verbs()) != 0 {
				t.Fatalf("an unsafe file gave %v, verbs %v\n%s", ev, m.Verbs(), log)
			}
			if n := strings.Count(log.String(), c.wantLogSays); n != 1 {
				t.Fatalf("the refusal (%q) is logged %d times over 3 scans, want once:\n%s", c.wantLogSays, n, log)
			}

			if err := c.fix(path); err != nil {
				t.Fatal(err)
			}
			scan(t, m, log)
			if ev := tb.took(); !slices.Equal(ev, []string{"+upper upper"}) {
				t.Fatalf("the fixed file gave %v, want it registered\n%s", ev, log)
			}
			pid := serves(t, tb, log)

			// Spoiled again while it runs: stopped, and said again (once).
			if err := c.spoil(path); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				scan(t, m, log)
			}
			if ev := tb.took(); !slices.Equal(ev, []string{"-upper upper"}) || len(m.Verbs()) != 0 {
				t.Fatalf("a running plugin made unsafe gave %v, verbs %v\n%s", ev, m.Verbs(), log)
			}
			waitGone(t, "the process of a plugin made unsafe", pid)
			if n := strings.Count(log.String(), c.wantLogSays); n != 2 {
				t.Fatalf("the second refusal is logged %d times in all, want twice (once per spell):\n%s", n, log)
			}
		})
	}
}

// Two files serving one verb: the one that sorts first serves, the second
// is skipped with a log line (once), and its process does not stay behind.
// When the first file goes, the second takes the verb at the next scan.
func TestScanSkipsDuplicateVerb(t *testing.T) {
	plain, stripped := upperBuilds(t)
	dir := t.TempDir()
	install(t, plain, filepath.Join(dir, "a-upper"), 0o755)
	install(t, stripped, filepath.Join(dir, "b-upper"), 0o755)
	m, log, tb := scanManager(t, dir)
	for range 3 {
		scan(t, m, log)
	}
	if ev := tb.took(); !slices.Equal(ev, []string{"+upper a-upper", "!upper b-upper"}) {
		t.Fatalf("two files for one verb gave %v, want the first registered and the second refused once\n%s", ev, log)
	}
	if p := tb.served("upper"); p == nil || filepath.Base(p.path) != "a-upper" {
		t.Fatalf("upper is served by %v, want a-upper", p)
	}
	serves(t, tb, log)
	if n := strings.Count(log.String(), "plugin skipped"); n != 1 || !strings.Contains(log.String(), "b-upper") {
		t.Fatalf("the duplicate is logged %d times over 3 scans, want once, naming b-upper:\n%s", n, log)
	}
	tb.mu.Lock()
	rejected := slices.Clone(tb.rejected)
	tb.mu.Unlock()
	if len(rejected) != 1 {
		t.Fatalf("rejected processes %v, want one", rejected)
	}
	waitGone(t, "the duplicate's process", rejected[0])
	if !slices.Equal(m.Verbs(), []string{"upper"}) {
		t.Fatalf("verbs %v, want upper once", m.Verbs())
	}

	first := pidOf(tb.served("upper"))

	if err := os.Remove(filepath.Join(dir, "a-upper")); err != nil {
		t.Fatal(err)
	}
	scan(t, m, log)
	if ev := tb.took(); !slices.Equal(ev, []string{"-upper a-upper", "+upper b-upper"}) {
		t.Fatalf("removing the serving file gave %v, want the duplicate to take the verb\n%s", ev, log)
	}
	if p := tb.served("upper"); p == nil || filepath.Base(p.path) != "b-upper" {
		t.Fatalf("upper is served by %v, want b-upper", p)
	}
	serves(t, tb, log)
	waitGone(t, "the removed first file's process", first)
}
