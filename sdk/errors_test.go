package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/selectftp/selectftp/sdk"
)

func TestCodeOfMessageOf(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name string
		err  error
		code sdk.Code
		msg  string
	}{
		{"nil", nil, sdk.CodeOK, ""},
		{"Errorf", sdk.Errorf(sdk.CodeChecksum, "bad sum %d", 3), sdk.CodeChecksum, "bad sum 3"},
		{"wrapped Error", fmt.Errorf("outer: %w", sdk.Errorf(sdk.CodeExists, "x exists")), sdk.CodeExists, "x exists"},
		{"Error keeps its code over its cause", sdk.Errorf(sdk.CodeBadRequest, "no: %w", fs.ErrNotExist), sdk.CodeBadRequest, "no: file does not exist"},
		{"not exist", &fs.PathError{Op: "open", Path: "a/b", Err: syscall.ENOENT}, sdk.CodeNotFound, "open a/b: no such file or directory"},
		{"ErrNotExist", fs.ErrNotExist, sdk.CodeNotFound, "file does not exist"},
		{"a file used as a folder", &fs.PathError{Op: "statat", Path: "a.txt/", Err: syscall.ENOTDIR}, sdk.CodeNotFound, "statat a.txt/: not a directory"},
		{"exists", &fs.PathError{Op: "open", Path: "f", Err: syscall.EEXIST}, sdk.CodeExists, "open f: file exists"},
		{"permission", &fs.PathError{Op: "open", Path: "f", Err: syscall.EACCES}, sdk.CodePermission, "open f: permission denied"},
		{"ENOSPC", &fs.PathError{Op: "write", Path: "big", Err: syscall.ENOSPC}, sdk.CodeNoSpace, "write big: no space left on device"},
		{"EDQUOT", fmt.Errorf("copy: %w", syscall.EDQUOT), sdk.CodeNoSpace, "copy: disk quota exceeded"},
		{"rename", &os.LinkError{Op: "rename", Old: "a", New: "b", Err: syscall.ENOSPC}, sdk.CodeNoSpace, "rename b: no space left on device"},
		{"canceled", context.Canceled, sdk.CodeCanceled, "context canceled"},
		{"wrapped canceled", fmt.Errorf("read body: %w", context.Canceled), sdk.CodeCanceled, "read body: context canceled"},
		{"deadline", context.DeadlineExceeded, sdk.CodeTimeout, "context deadline exceeded"},
		{"other", cause, sdk.CodeInternal, "cause"},
		{"Error with cause", &sdk.Error{Code: sdk.CodeUnavailable, Message: "gone", Err: cause}, sdk.CodeUnavailable, "gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sdk.CodeOf(tt.err); got != tt.code {
				t.Errorf("CodeOf = %s, want %s", got, tt.code)
			}
			if tt.err == nil {
				return
			}
			if got := sdk.MessageOf(tt.err); got != tt.msg {
				t.Errorf("MessageOf = %q, want %q", got, tt.msg)
			}
		})
	}
}

func TestErrorfKeepsCause(t *testing.T) {
	err := sdk.Errorf(sdk.CodeInternal, "write: %w", syscall.ENOSPC)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("errors.Is(%v, ENOSPC) = false", err)
	}
	if want := "sdk: internal: write: no space left on device"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	var e *sdk.Error
	if !errors.As(sdk.Errorf(sdk.CodeBadRequest, "plain"), &e) || e.Err != nil {
		t.Errorf("Errorf without %%w: cause = %v", e.Err)
	}
}

// The escape errors come from a real os.Root, since os does not export them
// and CodeOf matches their text.
func TestCodeOfRootEscape(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, filepath.Join(outside, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "dirlink")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, name := range []string{"../x", "a/../../x", filepath.Join(outside, "secret"), "/etc/passwd", "link", "dirlink/secret"} {
		_, err := root.Open(name)
		if err == nil {
			t.Fatalf("Open(%q) escaped the root", name)
		}
		if got := sdk.CodeOf(err); got != sdk.CodePermission {
			t.Errorf("Open(%q): CodeOf(%v) = %s, want permission", name, err, got)
		}
		msg := sdk.MessageOf(err)
		if msg != name+": path escapes the root" {
			t.Errorf("Open(%q): MessageOf = %q", name, msg)
		}
		if strings.Contains(msg, dir) {
			t.Errorf("MessageOf reveals the root's path: %q", msg)
		}
	}
	// Inside the root, a missing file is not_found, not permission.
	if _, err := root.Open("sub/../missing"); sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Errorf("missing file: %v is %s", err, sdk.CodeOf(err))
	}
}

func TestFunc(t *testing.T) {
	d := sdk.Description{Verb: "v", Summary: "s", Usage: "u"}
	called := false
	cmd := sdk.Func(d, func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		called = req.Verb == "v"
		return sdk.Errorf(sdk.CodeTimeout, "late")
	})
	if !reflect.DeepEqual(cmd.Describe(), d) {
		t.Errorf("Describe = %+v", cmd.Describe())
	}
	err := cmd.Run(t.Context(), &sdk.Request{Verb: "v"}, nil)
	if !called || sdk.CodeOf(err) != sdk.CodeTimeout {
		t.Errorf("Run: called %v, err %v", called, err)
	}
}
