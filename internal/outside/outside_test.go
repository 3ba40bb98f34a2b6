package outside

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
)

// repo is the checkout's top folder.
func repo(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// readmeProgram returns the first Go block after heading in README.md.
func readmeProgram(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q", heading)
	}
	m := regexp.MustCompile("(?s)```go\n(.*?)```").FindStringSubmatch(after)
	if m == nil {
		t.Fatalf("no Go block under %q", heading)
	}
	return m[1]
}

// newModule writes a module named name holding main.go, depending on this
// checkout as the README tells plugin authors, and tidies it.
func newModule(t *testing.T, name, program string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds modules outside the repository; skipped in -short mode")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(repo(t), "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), gosum, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "go", "mod", "init", name)
	run(t, dir, "go", "mod", "edit", "-require=github.com/selectftp/selectftp@v0.0.0",
		"-replace=github.com/selectftp/selectftp="+repo(t))
	run(t, dir, "go", "mod", "tidy")
	return dir
}

func run(t *testing.T, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// The README's embedding program, built in a module of its own, serves the
// standard verbs: a file goes up and comes back through the public client,
// and Ctrl-C stops it cleanly.
func TestReadmeEmbeddingProgram(t *testing.T) {
	dir := newModule(t, "example.com/embed", readmeProgram(t, "## Embedding the server"))
	run(t, dir, "go", "build", "-o", "embed", ".")
	cmd := exec.Command("./embed")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if _, a, ok := strings.Cut(sc.Text(), "serving on "); ok {
				addr <- a
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not say where it serves")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(local, []byte("from outside\n"), 0o644)
	if err := c.PutFile(ctx, local, "note.txt", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "files", "note.txt")); err != nil || string(got) != "from outside\n" {
		t.Fatalf("the served tree holds %q, %v", got, err)
	}
	var back bytes.Buffer
	if err := c.Get(ctx, "note.txt", &back, nil); err != nil || back.String() != "from outside\n" {
		t.Fatalf("get: %q, %v", back.String(), err)
	}
	if err := c.Get(ctx, "missing.txt", &back, nil); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("get of a missing file: %v, want ErrNotFound", err)
	}
	if verbs, err := c.Verbs(ctx); err != nil || strings.Join(verbs, " ") != "cd get helps ls mkdir mv put pwd rm stat sum upper" {
		t.Fatalf("verbs %v, %v", verbs, err)
	}

	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the program ended with %v after Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop on Ctrl-C")
	}
}

// The README's example plugin, built in a module of its own as the README
// says, is loaded from a plugins folder by an embedded server and answers.
func TestReadmePluginInItsOwnModule(t *testing.T) {
	dir := newModule(t, "example.com/reverse", readmeProgram(t, "## Writing a plugin"))
	plugins := filepath.Join(t.TempDir(), "plugins.d")
	if err := os.Mkdir(plugins, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "go", "build", "-o", filepath.Join(plugins, "reverse"), ".")
	srv := hosttest.NewUnstartedServer(t)
	srv.Host.PluginDir = plugins
	srv.Host.PluginScanInterval = -1
	srv.Host.Logger = hclog.NewNullLogger()
	srv.Start()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, err := c.Command(ctx, "reverse", []string{"a", "b", "c"}); err != nil || out != "c b a\n" {
		t.Fatalf("reverse a b c = %q, %v", out, err)
	}
}
