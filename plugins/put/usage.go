package put

import "github.com/selectftp/selectftp/sdk"

// usage is a change of a user's storage as the host keeps it for their
// quota: bytes and regular files, every regular file of their tree
// counted, whatever its name, as the host's walk of the tree at their
// first login counts them.
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
