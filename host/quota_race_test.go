package host

import (
	"bytes"
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/selectftp/selectftp/host/auth"
)

// Finding 7 of the review, end to end through the host: puts replacing a
// name race rm of it, many rounds (bounded in count and time), from four
// sessions of one user; the usage the server keeps for her quota ends
// equal to her tree. Before, put measured the file it replaced by name
// ahead of its rename and rm measured the file it removed ahead of its
// unlink, so either could count a file the other had already taken.
func TestQuotaReplaceRaceUsage(t *testing.T) {
	s := localServer(t, localUsers(t, auth.Limits{QuotaBytes: 1 << 30}), nil)
	dir := filepath.Join(s.Root, "alice")
	var ls []*Local
	for range 4 {
		ls = append(ls, localLogin(t, s, "127.0.0.1", "alice", "alice-pw"))
	}
	deadline := time.Now().Add(3 * time.Second)
	for round := 0; round < 200 && time.Now().Before(deadline); round++ {
		var wg sync.WaitGroup
		for i, size := range []int{100 + round, 3000, 7} {
			wg.Go(func() {
				ls[i].Call(context.Background(), Call{Verb: "put", Args: []string{"f"},
					Body: bytes.NewReader(make([]byte, size)), Size: int64(size)})
			})
		}
		wg.Go(func() { ls[3].Call(context.Background(), Call{Verb: "rm", Args: []string{"f"}, Size: -1}) })
		wg.Wait()
	}
	wantUsage(t, s, dir)
}
