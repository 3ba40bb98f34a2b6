package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/selectftp/selectftp/host/auth"
)

// limitFlags are `user add`'s limit flags, kept as text until parsed so
// that an error names the flag and the value the operator typed.
type limitFlags struct {
	maxConns, rateUp, rateDown, quotaBytes, quotaFiles, maxFileSize *string
}

func newLimitFlags(fset *flag.FlagSet) *limitFlags {
	return &limitFlags{
		maxConns:    fset.String("max-conns", "0", "most `sessions` logged in at once (0: no limit)"),
		rateUp:      fset.String("rate-up", "0", "upload `rate` in bytes/s over all sessions, e.g. 512K (0: no limit)"),
		rateDown:    fset.String("rate-down", "0", "download `rate` in bytes/s over all sessions, e.g. 8M (0: no limit)"),
		quotaBytes:  fset.String("quota-bytes", "0", "most `bytes` the user's tree may hold, e.g. 1G (0: no limit)"),
		quotaFiles:  fset.String("quota-files", "0", "most `files` the user's tree may hold (0: no limit)"),
		maxFileSize: fset.String("max-file-size", "0", "largest file an upload may make, e.g. 8M (0: no limit)"),
	}
}

// limits parses the flags; nil flags (a subcommand without them) are no
// limits.
func (lf *limitFlags) limits() (auth.Limits, error) {
	var l auth.Limits
	if lf == nil {
		return l, nil
	}
	count := func(flagName, s string) (int64, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("--%s %q: want a count, 0 (no limit) or more", flagName, s)
		}
		return n, nil
	}
	size := func(flagName, s string, parse func(string) (int64, error)) (int64, error) {
		n, err := parse(s)
		if err != nil {
			return 0, fmt.Errorf("--%s: %v", flagName, err)
		}
		return n, nil
	}
	conns, err := count("max-conns", *lf.maxConns)
	if err != nil {
		return l, err
	}
	if conns > 1<<20 {
		return l, fmt.Errorf("--max-conns %d: more than anyone can use", conns)
	}
	l.MaxConns = int(conns)
	if l.QuotaFiles, err = count("quota-files", *lf.quotaFiles); err != nil {
		return l, err
	}
	if l.RateUp, err = size("rate-up", *lf.rateUp, auth.ParseRate); err != nil {
		return l, err
	}
	if l.RateDown, err = size("rate-down", *lf.rateDown, auth.ParseRate); err != nil {
		return l, err
	}
	if l.QuotaBytes, err = size("quota-bytes", *lf.quotaBytes, auth.ParseSize); err != nil {
		return l, err
	}
	if l.MaxFileSize, err = size("max-file-size", *lf.maxFileSize, auth.ParseSize); err != nil {
		return l, err
	}
	return l, nil
}
