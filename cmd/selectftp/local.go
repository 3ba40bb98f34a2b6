package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// localCommand runs the shell's commands that act on this machine: lcd,
// lpwd and lls, as in sftp. handled is false for any other verb, which
// goes to the server.
func (s *session) localCommand(words []string) (handled bool, err error) {
	verb, args := words[0], words[1:]
	switch verb {
	case "lcd":
		return true, lcd(args)
	case "lpwd":
		if len(args) > 0 {
			return true, usagef("usage: lpwd")
		}
		dir, err := os.Getwd()
		if err != nil {
			return true, fmt.Errorf("lpwd: %w", err)
		}
		fmt.Fprintln(s.stdout, dir)
		return true, nil
	case "lls":
		return true, s.lls(args)
	}
	return false, nil
}

// lcd changes the local folder that put reads from and get writes to; no
// argument goes home, as cd does in a shell.
func lcd(args []string) error {
	if len(args) > 1 {
		return usagef("usage: lcd [DIR]")
	}
	dir := ""
	if len(args) == 1 {
		dir = args[0]
	} else {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("lcd: %w", err)
		}
		dir = home
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("lcd %s: %s", dir, localErrText(err))
	}
	return nil
}

// lls lists local folders the way ls lists remote ones: one name a line,
// sorted, folders ending in /, hidden names only with -a.
func (s *session) lls(args []string) error {
	all := false
	var paths []string
	for _, a := range args {
		switch {
		case a == "-a":
			all = true
		case len(a) > 1 && a[0] == '-':
			return usagef("usage: lls [-a] [PATH...]")
		default:
			paths = append(paths, a)
		}
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var out strings.Builder
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("lls %s: %s", p, localErrText(err))
		}
		if !fi.IsDir() {
			out.WriteString(p + "\n")
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("lls %s: %s", p, localErrText(err))
		}
		if len(paths) > 1 {
			if i > 0 {
				out.WriteString("\n")
			}
			out.WriteString(p + ":\n")
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if !all && strings.HasPrefix(e.Name(), ".") {
				continue
			}
			names = append(names, e.Name()+dirMark(filepath.Join(p, e.Name()), e))
		}
		slices.Sort(names)
		for _, n := range names {
			out.WriteString(n + "\n")
		}
	}
	_, err := fmt.Fprint(s.stdout, out.String())
	return err
}

// dirMark is "/" for a folder, or a link to one, as ls marks them.
func dirMark(path string, e fs.DirEntry) string {
	if e.IsDir() {
		return "/"
	}
	if e.Type()&fs.ModeSymlink != 0 {
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			return "/"
		}
	}
	return ""
}

// localErrText says what went wrong without the system call's name.
func localErrText(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or folder"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// bang runs a command line with the local shell, on the terminal: `!`
// alone starts an interactive shell ($SHELL), as sftp does.
func (s *session) bang(cmdline string) error {
	var cmd *exec.Cmd
	if strings.TrimSpace(cmdline) == "" {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		cmd = exec.Command(sh)
	} else {
		cmd = exec.Command("/bin/sh", "-c", cmdline)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, s.stdout, s.stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("!: %s", ee.ProcessState) // "exit status 2", "signal: interrupt"
	}
	if err != nil {
		return fmt.Errorf("!: %w", err)
	}
	return nil
}
