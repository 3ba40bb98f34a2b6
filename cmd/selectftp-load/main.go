// Command selectftp-load is a load generator for selectftp servers. It
// speaks the protocol natively, with no process per request:
//
//	selectftp-load get   --addr A --path P [--conns C]          download P once per connection
//	selectftp-load put   --addr A (--file F | --size N) [--path P] [--conns C]
//	selectftp-load cmd   --addr A [--verb upper] [--args "hello world"] [--conns 64] [--duration 5s]
//	selectftp-load idle  --addr A [--conns 10000] [--pid PID] [--hold 5s]
//	selectftp-load limit (--file F | --size N)                  plain Go TCP over loopback
//
// It prints one line for a person and, with --json, one JSON line (see
// loadgen.Result) for selectftp-bench. --pid adds the server's resident
// memory (VmRSS from /proc/PID/status). Sizes take K, M, G (powers of
// 1000) or KiB, MiB, GiB (powers of 1024). The exit status is 1 when any
// request failed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/selectftp/selectftp/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: selectftp-load get|put|cmd|idle|limit [flags]; selectftp-load MODE -h for its flags`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	mode := args[0]
	fs := flag.NewFlagSet("selectftp-load "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:2121", "server `address`")
	conns := fs.Int("conns", 1, "connections")
	pid := fs.Int("pid", 0, "server `pid`, to report its resident memory")
	asJSON := fs.Bool("json", false, "also print the result as one JSON line")
	path := fs.String("path", "", "remote `path` (get: the file to download; put: where to upload)")
	file := fs.String("file", "", "local `file` to send (put, limit)")
	size := fs.String("size", "", "bytes to generate when no --file is given (put, limit)")
	readSize := fs.Int("read-size", loadgen.DefaultReadSize, "read size of downloads in `bytes`")
	verb := fs.String("verb", "upper", "command to run (cmd)")
	cmdArgs := fs.String("args", "hello world", "its words (cmd)")
	duration := fs.Duration("duration", 5*time.Second, "how long to run (cmd)")
	hold := fs.Duration("hold", 5*time.Second, "how long to hold the idle connections (idle)")
	freshN := fs.Int("fresh", 10, "new clients to time while the idle connections are held (idle)")
	switch mode {
	case "get", "put", "cmd", "idle", "limit":
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "selectftp-load: unknown mode %q\n%s\n", mode, usage)
		return 2
	}
	if mode == "cmd" {
		*conns = 64
	}
	if mode == "idle" {
		*conns = 10000
	}
	if err := fs.Parse(args[1:]); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	src := loadgen.Source{File: *file}
	if (mode == "put" || mode == "limit") && *file == "" {
		n, err := loadgen.ParseSize(*size)
		if err != nil || *size == "" {
			fmt.Fprintf(stderr, "selectftp-load %s: give --file or a valid --size (%v)\n", mode, err)
			return 2
		}
		src.Size = n
	}
	if *conns < 1 {
		fmt.Fprintln(stderr, "selectftp-load: --conns must be at least 1")
		return 2
	}

	var res loadgen.Result
	switch mode {
	case "get":
		if *path == "" {
			fmt.Fprintln(stderr, "selectftp-load get: --path is required")
			return 2
		}
		res = loadgen.Get(ctx, *addr, *path, *conns, *readSize)
	case "put":
		if *path == "" {
			*path = fmt.Sprintf("selectftp-load-%d-%d.bin", os.Getpid(), time.Now().UnixNano())
		}
		res = loadgen.Put(ctx, *addr, *path, src, *conns)
	case "cmd":
		res = loadgen.Cmd(ctx, *addr, *verb, strings.Fields(*cmdArgs), *conns, *duration)
	case "idle":
		res = loadgen.Idle(ctx, loadgen.IdleOptions{Addr: *addr, Conns: *conns, PID: *pid, Hold: *hold, Fresh: *freshN})
	case "limit":
		res = loadgen.Limit(ctx, src, *readSize)
	}
	if *pid > 0 && mode != "idle" {
		res.RSSAfterKB, _ = loadgen.ProcStatusKB(*pid, "VmRSS")
		res.HWMKB, _ = loadgen.ProcStatusKB(*pid, "VmHWM")
	}
	fmt.Fprintln(stdout, res.Human())
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
	}
	if res.Errors > 0 {
		return 1
	}
	return 0
}
