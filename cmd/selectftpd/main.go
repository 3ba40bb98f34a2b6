// Command selectftpd is the selectftp server: it serves the verbs found in
// its plugins folder to clients on one TCP address.
//
//	selectftpd [--listen 127.0.0.1:2121] [--root ./data] [--plugins ./plugins.d]
//	           [--min-checksum xxh128|sha256|blake3] [--users FILE [--decoy-key FILE]] [--insecure]
//	           [--ftp-listen 127.0.0.1:2122 [--ftp-passive-ports 50000-50100]]
//	           [more flags: selectftpd --help]
//	selectftpd user add|passwd|del|list --users FILE [NAME]   (selectftpd user --help)
//
// With --users every client logs in (SCRAM-SHA-256) and works in its own
// root; SIGHUP reloads the file. Unknown names get decoy salts from a key
// kept beside it, or in the file --decoy-key names. An address other hosts
// can reach is refused without --insecure (there is no TLS yet).
//
// SIGINT or SIGTERM shuts it down gracefully: it stops accepting, lets
// running transfers finish for up to --shutdown-timeout, and stops every
// plugin process.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/selectftp/selectftp/host"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/internal/rlimit"
	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/sdk"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "user" { // selectftpd user add|passwd|del|list
		return runUser(args[1:], os.Stdin, os.Stdout, stderr)
	}
	fs := flag.NewFlagSet("selectftpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	srv := host.New()
	fs.StringVar(&srv.Addr, "listen", host.DefaultAddr, "`address` to listen on")
	fs.StringVar(&srv.Root, "root", host.DefaultRoot, "`folder` clients' files live in (created if missing)")
	// selectftpd serves plugins by default; New alone loads none.
	fs.StringVar(&srv.PluginDir, "plugins", host.DefaultPluginDir, "`folder` of plugin binaries (\"\" for none)")
	fs.StringVar(&srv.Fallback, "fallback", host.DefaultFallback, "`verb` unknown verbs go to; empty: answer unknown_verb")
	fs.StringVar(&srv.Backend, "backend", "", "connection engine: reactor (default on Linux) or goroutine")
	fs.IntVar(&srv.MaxConns, "max-conns", host.DefaultMaxConns, "most open connections")
	fs.IntVar(&srv.MaxHeader, "max-header", host.DefaultMaxHeader, "largest control frame in `bytes` (hello, request, response, status)")
	fs.DurationVar(&srv.IdleTimeout, "idle-timeout", host.DefaultIdleTimeout, "close connections idle this long")
	fs.DurationVar(&srv.FrameTimeout, "frame-timeout", host.DefaultFrameTimeout, "close connections that leave a frame half-sent this long")
	fs.DurationVar(&srv.WriteTimeout, "write-timeout", host.DefaultWriteTimeout, "close connections that accept no output this long")
	fs.IntVar(&srv.MaxConnsPerIP, "max-conns-per-ip", host.DefaultMaxConnsPerIP, "most open connections from one address (negative: no limit)")
	fs.DurationVar(&srv.HelloTimeout, "hello-timeout", host.DefaultHelloTimeout, "close connections that have not said hello this long after connecting")
	fs.IntVar(&srv.MinBodyRate, "min-upload-rate", host.DefaultMinRate, "slowest upload in `bytes/s`, averaged over --frame-timeout (negative: none)")
	fs.IntVar(&srv.MinWriteRate, "min-download-rate", host.DefaultMinRate, "slowest a client may read, in `bytes/s` averaged over --write-timeout (negative: none)")
	fs.StringVar(&srv.MinChecksum, "min-checksum", "", "weakest transfer digest `algorithm` accepted: xxh128 (the default: any), or sha256 or blake3 (a cryptographic one only)")
	fs.DurationVar(&srv.RequestTimeout, "request-timeout", host.DefaultRequestTimeout, "cancel a request that moves no byte this long (negative: never)")
	verbTimeouts := fs.String("verb-timeouts", "", "per-verb request timeouts, e.g. `put=2m,upper=5s`")
	guard := addGuardFlags(fs) // --defender-*, --audit-log
	ftpf := addFTPFlags(fs)    // --ftp-*
	fs.DurationVar(&srv.PluginScanInterval, "plugin-scan", host.DefaultPluginScanInterval, "how often to rescan the plugins folder (negative: never)")
	settings := fs.String("plugin-settings", "", "JSON `file` of settings per verb, e.g. {\"put\":{\"max_size\":1048576}}")
	level := fs.String("log-level", "info", "log `level`: trace, debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	builtinVerbs := fs.String("builtin", "", "comma-separated `verbs` to serve in-process instead of from plugins (get,helps,put,upper)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to `file` until shutdown (for performance work)")
	grace := fs.Duration("shutdown-timeout", 30*time.Second, "how long running transfers may finish at shutdown")
	usersFile := fs.String("users", "", "users `file` (selectftpd user add): clients log in, each in their own root; reloaded on SIGHUP")
	decoyKeyFile := fs.String("decoy-key", "", "`file` of the 32-byte secret unknown names' decoy salts derive from (default: the users file's path + \".decoy-key\", created if missing; a per-process key if it cannot be); may be a symlink (a Kubernetes Secret), must be owned by the server's user or root and unreadable by others")
	insecure := fs.Bool("insecure", false, "serve on an address other hosts can reach without TLS or without --users")
	tlsCert := fs.String("tls-cert", "", "PEM certificate `file`: serve over TLS only (with --tls-key)")
	tlsKey := fs.String("tls-key", "", "PEM private key `file` of --tls-cert")
	tlsClientCA := fs.String("tls-client-ca", "", "PEM `file` of the authorities client certificates must be signed by (requires one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "selectftpd: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *format != "text" && *format != "json" {
		fmt.Fprintf(stderr, "selectftpd: --log-format must be text or json, not %q\n", *format)
		return 2
	}
	if srv.MinChecksum != "" {
		if _, err := checksum.Parse(srv.MinChecksum); err != nil {
			fmt.Fprintf(stderr, "selectftpd: --min-checksum: %v\n", err)
			return 2
		}
	}
	lvl := hclog.LevelFromString(*level)
	if lvl == hclog.NoLevel {
		fmt.Fprintf(stderr, "selectftpd: unknown --log-level %q\n", *level)
		return 2
	}
	srv.Logger = hclog.New(&hclog.LoggerOptions{
		Name: "selectftpd", Level: lvl, Output: stderr, JSONFormat: *format == "json",
	})
	stopGuard, gerr := guard.apply(srv, srv.Logger)
	if gerr != nil {
		fmt.Fprintf(stderr, "selectftpd: %v\n", gerr)
		return 2
	}
	defer stopGuard()
	if *decoyKeyFile != "" && *usersFile == "" {
		fmt.Fprintln(stderr, "selectftpd: --decoy-key needs --users (without users there are no decoys)")
		return 2
	}
	if *usersFile != "" {
		f, err := loadUsers(*usersFile, srv.Logger)
		if err != nil {
			fmt.Fprintf(stderr, "selectftpd: --users: %v\n", err)
			return 2
		}
		srv.Users = f
		if srv.DecoyKey, err = decoyKey(*usersFile, *decoyKeyFile, srv.Logger); err != nil {
			fmt.Fprintf(stderr, "selectftpd: %v\n", err)
			return 2
		}
		defer reloadOnHUP(f, srv.Logger)()
	}
	if *verbTimeouts != "" {
		srv.VerbTimeouts = map[string]time.Duration{}
		for _, kv := range strings.Split(*verbTimeouts, ",") {
			verb, d, ok := strings.Cut(strings.TrimSpace(kv), "=")
			dur, err := time.ParseDuration(d)
			if !ok || verb == "" || err != nil {
				fmt.Fprintf(stderr, "selectftpd: --verb-timeouts: %q is not VERB=DURATION\n", kv)
				return 2
			}
			srv.VerbTimeouts[strings.ToLower(verb)] = dur
		}
	}
	if *settings != "" {
		p, err := os.ReadFile(*settings)
		if err == nil {
			err = json.Unmarshal(p, &srv.PluginSettings)
		}
		if err != nil {
			fmt.Fprintf(stderr, "selectftpd: --plugin-settings: %v\n", err)
			return 2
		}
	}

	for _, verb := range strings.FieldsFunc(*builtinVerbs, func(r rune) bool { return r == ',' || r == ' ' }) {
		cmd, ok := plugins.New(verb)
		if !ok {
			fmt.Fprintf(stderr, "selectftpd: --builtin: no built-in verb %q (built in: %s)\n", verb, strings.Join(plugins.Verbs(), ", "))
			return 2
		}
		if c, ok := cmd.(sdk.Configurer); ok {
			if err := c.Configure(context.Background(), srv.PluginSettings[verb]); err != nil {
				fmt.Fprintf(stderr, "selectftpd: --builtin %s: %v\n", verb, err)
				return 2
			}
		}
		if err := srv.Register(cmd); err != nil {
			fmt.Fprintf(stderr, "selectftpd: --builtin: %v\n", err)
			return 2
		}
	}

	if n, err := rlimit.RaiseFileLimit(); err != nil {
		srv.Logger.Warn("cannot raise the open-file limit", "error", err)
	} else if n > 0 && uint64(srv.MaxConns)+64 > n {
		srv.Logger.Warn("the open-file limit is below --max-conns", "limit", n, "max_conns", srv.MaxConns)
	}

	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "selectftpd: --cpuprofile: %v\n", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	stopped := make(chan error, 1)
	go func() {
		sig := <-sigs
		srv.Logger.Info("shutting down", "signal", sig.String(), "grace", grace.String())
		ctx, cancel := context.WithTimeout(context.Background(), *grace)
		defer cancel()
		go func() { <-sigs; cancel() }() // a second signal stops waiting
		ftpf.shutdown(ctx)
		stopped <- srv.Shutdown(ctx)
	}()
	var err error
	if srv.TLSConfig, err = loadTLS(*tlsCert, *tlsKey, *tlsClientCA, srv.Logger); err != nil {
		fmt.Fprintf(stderr, "selectftpd: %v\n", err)
		return 2
	}
	ln, err := listen(srv.Addr, *insecure, srv.Users != nil, srv.TLSConfig != nil, srv.Logger)
	if err != nil {
		fmt.Fprintf(stderr, "selectftpd: %v\n", err)
		return 2
	}
	if err := ftpf.start(srv, *insecure, srv.Logger); err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "selectftpd: %v\n", err)
		return 2
	}
	err = srv.Serve(ln)
	if !errors.Is(err, host.ErrServerClosed) {
		srv.Logger.Error("server failed", "error", err)
		return 1
	}
	if err := <-stopped; err != nil {
		srv.Logger.Warn("shutdown cut short; open transfers were closed", "error", err)
	}
	srv.Logger.Info("stopped")
	return 0
}
