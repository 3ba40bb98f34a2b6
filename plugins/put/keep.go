package put

import (
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/selectftp/selectftp/sdk"
)

// kept is what a client's -p asks the stored file to keep: its
// modification time and permission bits, applied to the staged file
// before it takes its name, so the file never shows under the name
// without them.
type kept struct {
	mtime   time.Time
	hasTime bool
	mode    fs.FileMode
	hasMode bool
}

// parseKept validates the mtime (RFC 3339, nanoseconds allowed) and mode
// (octal permission bits, at most 0777: no set-id or sticky bit) params.
// A bad one is bad_request, before any byte of the body is read.
func parseKept(mtime, mode string) (kept, error) {
	var k kept
	if mtime != "" {
		t, err := time.Parse(time.RFC3339Nano, mtime)
		if err != nil {
			return k, sdk.Errorf(sdk.CodeBadRequest, "mtime %q: not an RFC 3339 time such as 2024-05-01T12:00:00.5Z", clip(mtime))
		}
		k.mtime, k.hasTime = t, true
	}
	if mode != "" {
		m, err := strconv.ParseUint(mode, 8, 32)
		if err != nil || len(mode) > 4 || m > 0o777 {
			return k, sdk.Errorf(sdk.CodeBadRequest, "mode %q: not octal permission bits from 0 to 0777", clip(mode))
		}
		k.mode, k.hasMode = fs.FileMode(m), true
	}
	return k, nil
}

// apply gives f the time and mode asked for. The time is set last, once
// no more bytes are written.
func (k kept) apply(f *os.File) error {
	if k.hasMode {
		if err := f.Chmod(k.mode); err != nil {
			return err
		}
	}
	if !k.hasTime {
		return nil
	}
	// The staged file may have no name (O_TMPFILE): reach it through
	// its descriptor, as glibc's futimens fallback does.
	dir := "/dev/fd/"
	if runtime.GOOS == "linux" {
		dir = "/proc/self/fd/"
	}
	return os.Chtimes(dir+strconv.Itoa(int(f.Fd())), time.Time{}, k.mtime)
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
