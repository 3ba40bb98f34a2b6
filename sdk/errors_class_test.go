package sdk_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/selectftp/selectftp/sdk"
)

// Client mistakes in a name are not internal errors: the host logs
// internal ones at ERROR, and these came at 47 MB/s of log.
func TestCodeOfClientNameMistakes(t *testing.T) {
	long := strings.Repeat("n", 5000)
	tests := []struct {
		name string
		err  error
		code sdk.Code
		msg  string
	}{
		{"ENAMETOOLONG", &fs.PathError{Op: "openat", Path: "a", Err: syscall.ENAMETOOLONG}, sdk.CodeNameTooLong, "openat a: file name too long"},
		{"wrapped ENAMETOOLONG", fmt.Errorf("stat: %w", syscall.ENAMETOOLONG), sdk.CodeNameTooLong, "stat: file name too long"},
		{"NUL", &fs.PathError{Op: "openat", Path: "a\x00b", Err: syscall.EINVAL}, sdk.CodeBadRequest, `"a\x00b": the path contains a NUL byte`},
		{"NUL in a rename", &os.LinkError{Op: "renameat", Old: "a", New: "b\x00", Err: syscall.EINVAL}, sdk.CodeBadRequest, "renameat b\x00: invalid argument"},
		{"ELOOP", &fs.PathError{Op: "openat", Path: "loop", Err: syscall.ELOOP}, sdk.CodeBadRequest, "loop: too many levels of symbolic links (a symlink loop?)"},
		{"EILSEQ", &fs.PathError{Op: "openat", Path: "x", Err: syscall.EILSEQ}, sdk.CodeBadRequest, "openat x: " + syscall.EILSEQ.Error()},
		// EINVAL without a NUL is not the client's doing.
		{"EINVAL", &fs.PathError{Op: "renameat", Path: "a", Err: syscall.EINVAL}, sdk.CodeInternal, "renameat a: invalid argument"},
		{"EINVAL in a rename", &os.LinkError{Op: "renameat", Old: "a", New: "a/b", Err: syscall.EINVAL}, sdk.CodeInternal, "renameat a/b: invalid argument"},
		{"EIO", &fs.PathError{Op: "read", Path: "f", Err: syscall.EIO}, sdk.CodeInternal, "read f: input/output error"},
		// A long path is shortened in the message.
		{"long path", &fs.PathError{Op: "openat", Path: long, Err: syscall.ENAMETOOLONG}, sdk.CodeNameTooLong, "openat " + long[:256] + "…: file name too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdk.CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf(%v) = %s, want %s", tt.err, got, tt.code)
			}
			if got := sdk.MessageOf(tt.err); got != tt.msg {
				t.Errorf("MessageOf = %q, want %q", got, tt.msg)
			}
		})
	}
}

// The same, from the errors a real os.Root returns, as the get and put
// plugins see them.
func TestCodeOfRootNameErrors(t *testing.T) {
	dir := t.TempDir()
	for _, l := range [][2]string{{"b", "a"}, {"a", "b"}, {"self", "self"}} {
		if err := os.Symlink(l[0], filepath.Join(dir, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	tests := []struct {
		name string
		code sdk.Code
	}{
		{strings.Repeat("x", 5000), sdk.CodeNameTooLong},
		{"d/" + strings.Repeat("é", 200), sdk.CodeNotFound}, // d does not exist: looked up first
		{strings.Repeat("é", 200), sdk.CodeNameTooLong},
		{"a\x00b", sdk.CodeBadRequest},
		{"a", sdk.CodeBadRequest},
		{"self/x", sdk.CodeBadRequest},
	}
	for _, tt := range tests {
		_, openErr := root.Open(tt.name)
		_, statErr := root.Stat(tt.name)
		_, createErr := root.OpenFile(tt.name, os.O_CREATE|os.O_WRONLY, 0o600)
		for _, err := range []error{openErr, statErr, createErr} {
			if got := sdk.CodeOf(err); got != tt.code {
				t.Errorf("%.20q: CodeOf(%.80v) = %s, want %s", tt.name, err, got, tt.code)
			}
			if msg := sdk.MessageOf(err); len(msg) > 400 || !utf8.ValidString(msg) || strings.Contains(msg, dir) {
				t.Errorf("%.20q: MessageOf = %.80q (%d bytes)", tt.name, msg, len(msg))
			}
		}
	}
}
