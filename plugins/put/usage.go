package put

import (
	"sync/atomic"

	"github.com/selectftp/selectftp/sdk"
)

// usage is a change of a user's storage as the host keeps it for their
// quota: bytes and regular files, every regular file of their tree
// counted, whatever its name, as the host's walk of the tree at their
// first login counts them. A resumable upload's partial, kept hidden for
// its resume, is such a file: it counts from the request that left it to
// the one that commits it or the sweep that removes it (finding 6 of the
// review: uncounted, partials let a user park any number of near-quota
// uploads for resume_ttl).
type usage struct{ bytes, files int64 }

func (a usage) plus(b usage) usage  { return usage{a.bytes + b.bytes, a.files + b.files} }
func (a usage) minus(b usage) usage { return usage{a.bytes - b.bytes, a.files - b.files} }

// report tells the host the change (MetaUsageBytes, MetaUsageFiles in
// package host), which it adds to the user's usage whatever the status.
func (a usage) report(w sdk.ResponseWriter) error {
	if err := w.SetMeta("usage_bytes", a.bytes); err != nil {
		return err
	}
	return w.SetMeta("usage_files", a.files)
}

// placed is the change a commit made: the new file, less the regular
// file it displaced (placement.replaced, -1 for none).
func placed(size int64, pl placement) usage {
	if !pl.placed {
		return usage{}
	}
	if pl.replaced >= 0 {
		return usage{bytes: size - pl.replaced}
	}
	return usage{bytes: size, files: 1}
}

// freed counts what sweeps of one root removed and no request has
// reported yet: a sweep runs beside requests (or in the background), so
// the next put to the root hands the count to the host (drain).
type freed struct{ bytes, files atomic.Int64 }

func (f *freed) add(u usage) {
	f.bytes.Add(u.bytes)
	f.files.Add(u.files)
}

// drain takes what was freed since the last drain: its negation is the
// change of the usage.
func (f *freed) drain() usage {
	if f == nil {
		return usage{}
	}
	return usage{bytes: -f.bytes.Swap(0), files: -f.files.Swap(0)}
}
