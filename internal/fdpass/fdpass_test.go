//go:build linux || darwin || freebsd || netbsd || openbsd

package fdpass

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestPassFiles(t *testing.T) {
	recv, child, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer recv.Close()
	send, err := NewSender(child)
	if err != nil {
		t.Fatal(err)
	}
	defer send.Close()

	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := filepath.Join(dir, string(rune('a'+i)))
			os.WriteFile(p, []byte(p), 0o644)
			f, err := os.Open(p)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close() // the host keeps its own duplicate
			if err := send.Send(uint64(i), f); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 20 {
		f, err := recv.Take(uint64(i), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if want := filepath.Join(dir, string(rune('a'+i))); string(b) != want {
			t.Fatalf("token %d carried %q, want %q", i, b, want)
		}
	}
	if _, err := recv.Take(99, 50*time.Millisecond); err == nil {
		t.Fatal("took a token never sent")
	}
	send.Close()
	if _, err := recv.Take(100, 5*time.Second); err == nil {
		t.Fatal("took from a closed channel")
	}
}
