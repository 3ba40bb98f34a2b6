// Package fileop holds what the file-management verbs (ls, stat, rm, mkdir,
// mv, sum, cd) share: their flags, the listing entry, and errors that name
// the path as the user typed it, in words rather than syscall names.
package fileop

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"time"

	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
)

// Flag is one option a verb takes: Short as an arg ("-l"), Param as a
// request parameter ("long": true).
type Flag struct {
	Short, Param string
	// Value is set for an option that takes a value (--checksum ALG).
	Value bool
}

// Args is a request's options and paths.
type Args struct {
	set    map[string]string
	Paths  []string
	verb   string
	params map[string]any
}

// Has reports whether the option whose Param is name was given.
func (a Args) Has(name string) bool { _, ok := a.set[name]; return ok }

// Value is the value of a valued option, "" when absent.
func (a Args) Value(name string) string { return a.set[name] }

// Parse splits req.Args into options (before the paths, "--" ends them) and
// paths, and adds the options sent as parameters. One-letter options may be
// grouped as in ls -la: each letter must be an option of the verb, and one
// that takes a value only as the group's last letter (its value is the next
// word, as getopt has it).
func Parse(req *sdk.Request, verb string, flags ...Flag) (Args, error) {
	a := Args{set: map[string]string{}, verb: verb}
	args := req.Args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		word := args[0]
		args = args[1:]
		if word == "--" {
			break
		}
		opts, err := expand(verb, flags, word)
		if err != nil {
			return a, err
		}
		for i, f := range opts {
			if !f.Value {
				a.set[f.Param] = "true"
				continue
			}
			if i != len(opts)-1 {
				return a, sdk.Errorf(sdk.CodeBadRequest, "%s: %s takes a value, so it must end the group %q", verb, f.Short, word)
			}
			if len(args) == 0 {
				name := word
				if len(opts) > 1 {
					name = f.Short
				}
				return a, sdk.Errorf(sdk.CodeBadRequest, "%s: %s needs a value", verb, name)
			}
			a.set[f.Param], args = args[0], args[1:]
		}
	}
	a.Paths = args
	for _, f := range flags {
		switch v := req.Params[f.Param].(type) {
		case bool:
			if v && !f.Value {
				a.set[f.Param] = "true"
			}
		case string:
			if f.Value && v != "" {
				a.set[f.Param] = v
			}
		}
	}
	return a, nil
}

// expand returns the options word stands for: one ("-l", "--long"), or
// each letter of a group ("-la"); an unknown letter is named in the error.
func expand(verb string, flags []Flag, word string) ([]Flag, error) {
	if f, ok := find(flags, word); ok {
		return []Flag{f}, nil
	}
	if strings.HasPrefix(word, "--") || len(word) < 3 {
		return nil, sdk.Errorf(sdk.CodeBadRequest, "%s: unknown option %q", verb, word)
	}
	opts := make([]Flag, 0, len(word)-1)
	for _, r := range word[1:] {
		f, ok := find(flags, "-"+string(r))
		if !ok || f.Short == "" {
			return nil, sdk.Errorf(sdk.CodeBadRequest, "%s: unknown option %q in %q", verb, "-"+string(r), word)
		}
		opts = append(opts, f)
	}
	return opts, nil
}

func find(flags []Flag, word string) (Flag, bool) {
	for _, f := range flags {
		if word == f.Short || word == "--"+f.Param {
			return f, true
		}
	}
	return Flag{}, false
}

// Resolve is req.Resolve that also refuses the names reserved for uploads
// in progress.
func Resolve(req *sdk.Request, p string) (string, error) {
	rel, err := req.Resolve(p)
	if err != nil {
		return "", err
	}
	if err := staging.Check(rel); err != nil {
		return "", err
	}
	// Checked before anything is made, so that mkdir -p a/<300 bytes>
	// does not leave a behind.
	for elem := range strings.SplitSeq(rel, "/") {
		if len(elem) > NameMax {
			return "", sdk.Errorf(sdk.CodeNameTooLong, "%s…: file name too long (a name takes at most %d bytes)", elem[:32], NameMax)
		}
	}
	return rel, nil
}

// NameMax is the longest name, in bytes, that Linux file systems take.
const NameMax = 255

// Fail turns a file system error about the path p (as the user typed it)
// into a one-line status: the sdk code and the code's meaning in words. An
// *sdk.Error passes unchanged.
func Fail(verb, p string, err error) error {
	var se *sdk.Error
	if errors.As(err, &se) {
		return err
	}
	code := sdk.CodeOf(err)
	var what string
	switch code {
	case sdk.CodeNotFound:
		what = "no such file or folder"
		if errors.Is(err, syscall.ENOTDIR) {
			what = "a part of the path is not a folder"
		}
	case sdk.CodeExists:
		what = "already exists"
	case sdk.CodePermission:
		what = "permission denied"
		if errors.Is(err, fs.ErrPermission) {
			break
		}
		what = "outside the served tree"
	case sdk.CodeNameTooLong:
		what = "file name too long"
	case sdk.CodeNoSpace:
		what = "no space left on the server"
	case sdk.CodeBadRequest:
		what = "bad name (a symlink loop?)"
	case sdk.CodeCanceled, sdk.CodeTimeout:
		return err
	default:
		what = "failed: " + innermost(err)
		if errors.Is(err, syscall.ENOTEMPTY) {
			code, what = sdk.CodeExists, "a folder that is not empty is in the way"
		}
	}
	return &sdk.Error{Code: code, Message: fmt.Sprintf("%s %s: %s", verb, p, what), Err: err}
}

// innermost is the text of the deepest error in err's chain (the errno's
// words, without the syscall's name).
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// Entry is one line of an ls listing and the fields of stat's metadata.
type Entry struct {
	Name  string `json:"name"`
	Path  string `json:"path"`
	Type  string `json:"type"`
	Size  int64  `json:"size"`
	Mode  string `json:"mode"`
	Mtime string `json:"mtime"`
}

// EntryOf describes fi, found at the virtual path vpath.
func EntryOf(vpath string, fi fs.FileInfo) Entry {
	name := fi.Name()
	if vpath == "/" {
		name = "/"
	}
	return Entry{
		Name:  name,
		Path:  vpath,
		Type:  TypeOf(fi.Mode()),
		Size:  fi.Size(),
		Mode:  fi.Mode().String(),
		Mtime: fi.ModTime().UTC().Format(time.RFC3339Nano),
	}
}

// TypeOf is an entry's type word: file, dir, link or other.
func TypeOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "link"
	}
	return "other"
}

// Hidden reports whether a listing leaves name out without -a.
func Hidden(name string) bool { return strings.HasPrefix(name, ".") }
