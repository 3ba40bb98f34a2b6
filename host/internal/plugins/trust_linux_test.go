package plugins

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// installELF copies a small real executable to path.
func installELF(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile("/bin/echo")
	if err != nil {
		t.Skip("no /bin/echo to run:", err)
	}
	writeFile(t, path, string(b), 0o755)
}

// swapToScript replaces path, by atomic rename as an attacker with the
// folder would, with a script that leaves marker behind if it ever runs.
func swapToScript(t *testing.T, path, marker string) {
	t.Helper()
	tmp := path + ".swap"
	writeFile(t, tmp, "#!/bin/sh\necho pwned > "+marker+"\n", 0o755)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// The file that runs is the file that was checked: replacing the name
// between the check and the exec does not run the replacement.
func TestExecRunsTheCheckedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plug")
	marker := filepath.Join(t.TempDir(), "marker")
	installELF(t, path)
	m, _ := testManager(dir)
	f, _, err := m.reopen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	swapToScript(t, path, marker)

	exe, exeFile, err := execPath(f)
	if err != nil {
		t.Fatal(err)
	}
	defer exeFile.Close()
	cmd := exec.Command(exe, "checked")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("run the checked file: %v", err)
	}
	if string(out) != "checked\n" {
		t.Errorf("the checked file printed %q, want echo's %q", out, "checked\n")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the swapped-in script ran")
	}
}

// A restart after a crash checks the file again: a name now pointing at
// something else is not run.
func TestRestartRechecksTheFile(t *testing.T) {
	for _, swap := range []struct {
		name    string
		do      func(t *testing.T, path, marker string)
		wantErr string
	}{
		{"replaced by a trusted-looking script", swapToScript, "changed since it was loaded"},
		{"replaced by a symlink", func(t *testing.T, path, marker string) {
			swapToScript(t, path+".target", marker)
			os.Remove(path)
			if err := os.Symlink(path+".target", path); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"made group-writable", func(t *testing.T, path, _ string) { os.Chmod(path, 0o775) }, "writable"},
		{"replaced by another binary", func(t *testing.T, path, _ string) {
			b, _ := os.ReadFile("/usr/bin/true")
			writeFile(t, path+".new", string(b), 0o755)
			os.Rename(path+".new", path)
		}, "changed since it was loaded"},
	} {
		t.Run(swap.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "plug")
			marker := filepath.Join(t.TempDir(), "marker")
			installELF(t, path)
			m, _ := testManager(dir)
			f, id, err := m.reopen(path)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			// As after a crash: the plugin was loaded from id, and no
			// process runs.
			p := &proc{m: m, path: path, id: id, log: m.cfg.Logger}
			swap.do(t, path, marker)
			in, err := p.live(context.Background())
			if err == nil {
				in.active.Done()
				in.retire(true)
				t.Fatal("restarted a plugin whose file changed")
			}
			if !strings.Contains(err.Error(), swap.wantErr) {
				t.Errorf("restart error %q does not say %q", err, swap.wantErr)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("the restart ran the swapped-in script")
			}
		})
	}
}

// A script plugin fails to start, clearly: its interpreter is handed
// /proc/self/fd/N, closed by then, so it never reads the script.
func TestScriptPluginDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plug")
	marker := filepath.Join(t.TempDir(), "marker")
	swapToScript(t, path, marker)
	m, _ := testManager(dir)
	m.cfg.StartTimeout = 5 * time.Second
	f, _, err := m.reopen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := &proc{m: m, path: path, log: m.cfg.Logger}
	if err := p.start(context.Background(), f); err == nil || !strings.Contains(err.Error(), "compiled executables") {
		t.Fatalf("start of a script plugin: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the script ran")
	}
}
