package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/term"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/internal/checksum"
)

const (
	defaultAddr = "127.0.0.1:2121"
	defaultPort = "2121"
	addrEnv     = "SELECTFTP_ADDR"
)

const usageText = `usage: selectftp [--addr HOST:PORT] [--user NAME] [--tls] [--ca FILE] [--pin FP] [--checksum ALG] [-q] [--json] [-P N] [--limit-rate RATE] [VERB ARGS...]
       selectftp [options] -c "CMD; CMD..."    selectftp [options] -b FILE

Commands:
  ls [-l] [-a] [PATH|GLOB...]  list a folder (names; folders end in /), -l long, -a hidden too
  stat PATH            type, size, mode, time and cached digests of PATH
  rm [-r] PATH...      remove files and empty folders; -r folders with all inside
  mkdir [-p] PATH...   make folders; -p parents too, an existing folder is fine
  mv [-n] FROM TO      rename or move (into TO if it is a folder); -n never replace
  sum [--checksum ALG] PATH...  the digest of remote files
  cd PATH, pwd         change, show the remote folder relative paths follow
  put LOCAL [REMOTE]   upload LOCAL (REMOTE: its base name, or inside a folder ending in /)
  put - REMOTE         upload stdin, streamed as it arrives (no temporary file);
                       kept only if stdin ends normally: Ctrl-C leaves nothing
  get REMOTE [LOCAL]   download REMOTE (LOCAL: its base name here, a folder, or - for stdout)
  get/put -r           a folder and all inside; -p keeps modification times and modes
  get/put -c           resume an interrupted transfer: only the missing bytes travel
  mget GLOB...         download the remote files the globs match, here
  mput GLOB...         upload the local files the globs match, to the remote folder
  helps [VERB]         list the server's verbs, or show one's usage (also: help, ?)
  upper TEXT...        the text, upper-cased
  VERB ARGS...         any other verb, sent to the server as typed

Without a VERB, selectftp reads commands from stdin: an interactive shell
on a terminal (tab completes verbs, remote and local paths; history is kept
across sessions; lcd, lpwd, lls and !CMD work locally; Ctrl-C stops the
running transfer; quit, exit or Ctrl-D leaves), otherwise one command per
line (blank lines and # comments skipped).

Options:
  --addr HOST:PORT     server address (default $SELECTFTP_ADDR or 127.0.0.1:2121)
  --user NAME          log in as NAME; the password comes from $SELECTFTP_PASSWORD,
                       else a prompt on the terminal (it never crosses the wire)
  --tls                speak TLS (also implied by --ca, --pin, --tls-cert)
  --ca FILE            trust the server certificates FILE's authorities sign
                       (PEM; default: the system's)
  --pin SHA256:HEX     trust exactly the server certificate with this
                       fingerprint (selectftpd logs it at start)
  --tls-cert F --tls-key F  a client certificate, for servers that ask
  --checksum ALG       verify transfers with xxh128, sha256 or blake3
                       (default: the server's, normally xxh128; sha256 and
                       blake3 also resist deliberate tampering)
  -q                   no progress bar or transfer summary
  --json               one JSON object per result on stdout (entries,
                       transfers, errors as {"error":...,"code":...})
  -P N                 N transfers at once over N connections (-r, mget, mput)
  --limit-rate RATE    cap each transfer at RATE bytes/s (512K, 8M: as curl)
  -c "CMD; CMD"        run the commands, stop at the first that fails
  -b FILE              run the commands in FILE (- for stdin), one a line;
                       stop at the first failure unless the line starts with -
  -h, --help           this help

Exit status: 0 ok, 1 other failure, 2 usage, 3 not found, 4 refused by the
server, 5 network, 6 checksum mismatch, 130 interrupted (see README.md).
`

// run is the whole program but for os.Exit, so that tests can drive it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("selectftp", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line below
	addr := fs.String("addr", "", "")
	quiet := fs.Bool("q", false, "")
	sum := fs.String("checksum", "", "")
	jsonOut := fs.Bool("json", false, "")
	cmds := fs.String("c", "", "")
	batch := fs.String("b", "", "")
	parallel := fs.Int("P", 1, "")
	rateText := fs.String("limit-rate", "", "")
	user := fs.String("user", "", "")
	useTLS := fs.Bool("tls", false, "")
	var tlsFiles client.TLSFiles
	fs.StringVar(&tlsFiles.CA, "ca", "", "")
	fs.StringVar(&tlsFiles.Pin, "pin", "", "")
	fs.StringVar(&tlsFiles.Cert, "tls-cert", "", "")
	fs.StringVar(&tlsFiles.Key, "tls-key", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, usageText)
			return exitOK
		}
		fmt.Fprintf(stderr, "selectftp: %v (see selectftp --help)\n", err)
		return exitUsage
	}
	if *sum != "" {
		if _, err := checksum.Parse(*sum); err != nil {
			fmt.Fprintf(stderr, "selectftp: --checksum: %v (see selectftp --help)\n", err)
			return exitUsage
		}
	}
	rate, rerr := parseTransferFlags(*parallel, *rateText)
	if rerr != nil {
		fmt.Fprintf(stderr, "selectftp: %v (see selectftp --help)\n", rerr)
		return exitUsage
	}
	var login client.Option
	if *user != "" {
		pw, err := password(*user, stdin, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "selectftp: --user: %v (see selectftp --help)\n", err)
			return exitUsage
		}
		login = client.WithUser(*user, pw) // one for every connection: the key derivation runs once
	}
	if *useTLS || tlsFiles != (client.TLSFiles{}) {
		// --ca, --pin or a client certificate mean TLS too.
		cfg, err := client.NewTLSConfig(tlsFiles)
		if err != nil {
			fmt.Fprintf(stderr, "selectftp: %v (see selectftp --help)\n", err)
			return exitUsage
		}
		login = client.Join(client.WithTLS(cfg), login)
	}
	s := &session{
		login:    login,
		parallel: *parallel,
		rate:     rate,
		addr:     serverAddr(*addr, os.Getenv(addrEnv)),
		checksum: *sum,
		stdin:    stdin,
		stdout:   stdout,
		stderr:   stderr,
		width:    func() int { return 80 },
		json:     *jsonOut,
		quiet:    *quiet,
	}
	_, s.stdoutTTY = terminalFd(stdout)
	if fd, ok := terminalFd(stderr); ok && !*quiet {
		s.tty = true
		s.width = func() int {
			if w, _, err := term.GetSize(fd); err == nil && w > 0 {
				return w
			}
			return 80
		}
		s.bars = newBarSet(stderr, s.width)
		s.stderr = s.bars.writer() // messages go above running bars
	}
	defer s.drop()

	words := fs.Args()
	if *cmds != "" || *batch != "" {
		if len(words) > 0 || (*cmds != "" && *batch != "") {
			fmt.Fprintln(stderr, "selectftp: -c and -b take the commands; give one of them and no VERB (see selectftp --help)")
			return exitUsage
		}
		ctx, stop := interruptible()
		defer stop()
		if *cmds != "" {
			return runCommands(ctx, s, *cmds)
		}
		return runBatch(ctx, s, *batch, stdin)
	}
	if len(words) == 0 {
		if fd, ok := terminalFd(stdin); ok {
			return runShell(s, fd)
		}
		s.stdin = nil // it carries the commands
		ctx, stop := interruptible()
		defer stop()
		return runScript(ctx, s, stdin)
	}
	ctx, stop := interruptible()
	defer stop()
	err := s.run(ctx, words)
	switch {
	case err == nil:
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "selectftp: interrupted")
		return exitInterrupted
	}
	s.report("", err)
	return exitCode(err)
}

// passwordEnv holds --user's password for scripts.
const passwordEnv = "SELECTFTP_PASSWORD"

// password is --user's password: $SELECTFTP_PASSWORD when set (even
// empty: the server then refuses it, as any wrong one), else asked on the
// terminal without echo. Never a flag: ps shows those to every user.
func password(user string, stdin io.Reader, stderr io.Writer) (string, error) {
	if pw, ok := os.LookupEnv(passwordEnv); ok {
		return pw, nil
	}
	fd, ok := terminalFd(stdin)
	if !ok {
		return "", fmt.Errorf("no password: set $%s, or run on a terminal to be asked", passwordEnv)
	}
	fmt.Fprintf(stderr, "Password for %s: ", user)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	return string(pw), nil
}

// serverAddr picks the address: flag, then environment, then default. A
// bare host gets the default port.
func serverAddr(flagAddr, envAddr string) string {
	addr := flagAddr
	if addr == "" {
		addr = envAddr
	}
	if addr == "" {
		return defaultAddr
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return net.JoinHostPort(addr, defaultPort)
	}
	return addr
}

func terminalFd(f any) (int, bool) {
	file, ok := f.(*os.File)
	if !ok || !term.IsTerminal(int(file.Fd())) {
		return 0, false
	}
	return int(file.Fd()), true
}

// interruptible returns a context cancelled by the first Ctrl-C or SIGTERM,
// so that a transfer can clean up (a partial download is removed). The
// signal is then released: a second Ctrl-C kills the program as usual,
// for when something is stuck reading a terminal.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigc:
			cancel()
		case <-done:
		}
		signal.Stop(sigc)
	}()
	return ctx, func() {
		close(done)
		cancel()
	}
}
