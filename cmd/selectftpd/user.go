package main

// selectftpd user add|passwd|del|list: the users file from the command line.

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/selectftp/selectftp/host/auth"
	"github.com/selectftp/selectftp/host/users"
)

const userUsage = `usage:
  selectftpd user add --users FILE NAME [--root DIR] [--perm list,read,write,delete,mkdir,rename]
        [--max-conns N] [--rate-up RATE] [--rate-down RATE] [--quota-bytes SIZE] [--quota-files N] [--max-file-size SIZE]
  selectftpd user passwd --users FILE NAME
  selectftpd user del --users FILE NAME
  selectftpd user list --users FILE
The password comes from a prompt on a terminal, else from the first line of stdin.
Sizes and rates (bytes, bytes/s) take K, M, G, T suffixes (powers of 1024): 8M, 1.5G; 0 is no limit.
`

// maxPasswordLine bounds what is read from stdin for a password.
const maxPasswordLine = 4096

// usageError is an error in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// runUser runs `selectftpd user ARGS...` and returns the exit status.
func runUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := userCommand(args, stdin, stdout, stderr)
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, userUsage)
		return 0
	}
	fmt.Fprintf(stderr, "selectftpd user: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

func userCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"missing add, passwd, del or list (selectftpd user --help)"}
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		return flag.ErrHelp
	}
	fset := flag.NewFlagSet("selectftpd user "+sub, flag.ContinueOnError)
	fset.SetOutput(io.Discard) // errors are printed once, by runUser
	file := fset.String("users", "", "users `file`")
	var root, perm *string
	var iters *int
	var lim *limitFlags
	wantName := true
	switch sub {
	case "add":
		root = fset.String("root", "", "the user's `folder`, absolute or under the server's root (default: NAME)")
		perm = fset.String("perm", auth.FormatPerms(auth.AllPerms()), "comma-separated `permissions`")
		lim = newLimitFlags(fset)
		fallthrough
	case "passwd":
		iters = fset.Int("iterations", auth.DefaultIterations, "PBKDF2 `count` for the stored keys")
	case "del":
	case "list":
		wantName = false
	default:
		return usageError{fmt.Sprintf("unknown command %q: add, passwd, del or list", sub)}
	}
	pos, err := parseInterspersed(fset, args[1:])
	if err != nil {
		return err
	}
	if *file == "" {
		return usageError{"--users FILE is required"}
	}
	var name string
	switch {
	case wantName && len(pos) != 1:
		return usageError{fmt.Sprintf("%s takes one user NAME, got %d arguments", sub, len(pos))}
	case !wantName && len(pos) != 0:
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	case wantName:
		name = pos[0]
		if err := users.CheckName(name); err != nil {
			return usageError{err.Error()}
		}
	}
	if iters != nil && (*iters < auth.MinIterations || *iters > auth.MaxIterations) {
		return usageError{fmt.Sprintf("--iterations %d is outside %d..%d", *iters, auth.MinIterations, auth.MaxIterations)}
	}
	if iters != nil && *iters != auth.DefaultIterations {
		// Decoys advertise only the default count (finding 5).
		fmt.Fprintf(stderr, "selectftpd user: warning: --iterations %d: unknown names are answered with %d, so anyone can tell this account exists by its count\n",
			*iters, auth.DefaultIterations)
	}

	f, err := users.Load(*file)
	if errors.Is(err, fs.ErrNotExist) && sub == "add" {
		f, err = users.New(*file), nil
	}
	if err != nil {
		return err
	}
	for _, w := range f.Warnings() {
		fmt.Fprintf(stderr, "selectftpd user: warning: %s\n", w)
	}

	switch sub {
	case "list":
		return list(f, stdout)
	case "del":
		if err := f.Delete(name); err != nil {
			return err
		}
		return f.Save()
	case "passwd":
		if _, err := f.Lookup(name); err != nil {
			return fmt.Errorf("no user %s in %s", name, *file)
		}
		pw, err := readPassword(stdin, stderr, name)
		if err != nil {
			return err
		}
		f.Iterations = *iters
		if err := f.SetPassword(name, pw); err != nil {
			return err
		}
		return f.Save()
	}
	// add
	perms, err := auth.ParsePerms(*perm)
	if err != nil {
		return usageError{"--perm: " + err.Error()}
	}
	r := *root
	if r == "" {
		r = name
	}
	if err := users.CheckRoot(r); err != nil {
		return usageError{"--root: " + err.Error()}
	}
	limits, err := lim.limits()
	if err != nil {
		return usageError{err.Error()}
	}
	if _, err := f.Lookup(name); err == nil {
		return fmt.Errorf("user %s exists; use passwd", name)
	}
	pw, err := readPassword(stdin, stderr, name)
	if err != nil {
		return err
	}
	creds, err := auth.NewCredentials(pw, *iters)
	if err != nil {
		return err
	}
	if err := f.Add(auth.Account{Name: name, Root: r, Perms: perms, Credentials: creds, Limits: limits}); err != nil {
		if errors.Is(err, users.ErrExists) {
			return fmt.Errorf("user %s exists; use passwd", name)
		}
		return err
	}
	return f.Save()
}

// parseInterspersed lets flags come before or after the positional
// arguments (`add NAME --root x` and `add --root x NAME`), which the flag
// package alone does not: it stops at the first non-flag.
func parseInterspersed(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fset.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// readPassword asks twice without echo on a terminal; otherwise it reads
// the first line of stdin, so scripts can pipe a password in.
func readPassword(stdin io.Reader, stderr io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "Password for %s: ", name)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(stderr, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords differ")
		}
		return checkPassword(string(a))
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, maxPasswordLine+1), maxPasswordLine+1).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	if len(line) > maxPasswordLine {
		return "", fmt.Errorf("the password line is longer than %d bytes", maxPasswordLine)
	}
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	return checkPassword(line)
}

func checkPassword(pw string) (string, error) {
	if pw == "" {
		return "", errors.New("empty password refused")
	}
	return pw, nil
}

// list prints name, root and permissions, never credentials.
func list(f *users.File, w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROOT\tPERMS\tPATH PERMS\tLIMITS")
	for _, a := range f.List() {
		perms := auth.FormatPerms(a.Perms)
		if perms == "" {
			perms = "-"
		}
		var pp []string
		for k, v := range a.PathPerms {
			pp = append(pp, k+"="+auth.FormatPerms(v))
		}
		slices.Sort(pp)
		paths := strings.Join(pp, " ")
		if paths == "" {
			paths = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Name, a.Root, perms, paths, a.Limits)
	}
	return tw.Flush()
}
