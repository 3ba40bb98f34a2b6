package host

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
)

// reqLimits is one request's share of its user's limits: the body held to
// the quota and the largest file, the output paced to the download rate.
// The host writes every upload body (bodysave.go) and every response, so
// these hold whatever the command is: no plugin can store past a quota.
//
// Bytes a body delivers are reserved in the user's usage as they come, so
// concurrent uploads of one user cannot each fit alone and overflow
// together; settle gives the reservation back and adds what the command
// reports it changed (MetaUsageBytes, MetaUsageFiles).
type reqLimits struct {
	ul   *userLimits
	pace *pacer

	// The command's goroutine owns these.
	base     int64 // the file offset the body starts at: a resumed upload's kept part, for the largest file
	body     int64 // body bytes taken
	resBytes int64 // reserved in ul.u
	fileHeld bool  // a file reserved in ul.u
}

// requestLimits is the running request's limits, made on the loop when it
// starts; nil for a session without any.
func (ss *session) requestLimits(ctx context.Context) *reqLimits {
	ul := ss.userLimitsOf()
	if ul == nil {
		return nil
	}
	rl := &reqLimits{ul: ul}
	if ul.down != nil {
		rl.pace = &pacer{ctx: ctx, b: ul.down, abort: ss.c.Close}
	}
	return rl
}

// limitsOf is the limits start gave req's body.
func limitsOf(req *sdk.Request) *reqLimits {
	if b, ok := req.Body.(*requestBody); ok {
		return b.lim
	}
	return nil
}

// pacer is the download pacing for w; nil paces nothing.
func (rl *reqLimits) pacer() *pacer {
	if rl == nil {
		return nil
	}
	return rl.pace
}

// startFile runs before the host writes a body into a file at off: a new
// file must fit in the file quota, and bytes already before off count
// against the largest file. They are not reserved against the byte quota
// again: they are already in the user's usage (a resumed upload's partial,
// which put reports when it keeps one, or the copy of the current file an
// append keeps, which replaces that file: put commits an append only over
// the very file it copied, see plugins/put placeOver), and counting them twice would
// refuse the resume of a partial over half the quota. Nor does a file
// written past off need a new file's room: its partial is counted as one.
// It runs before the body is asked for, so a client that waits for
// Continue sends nothing.
func (rl *reqLimits) startFile(off int64) error {
	if rl == nil {
		return nil
	}
	lim, u := rl.ul.lim, rl.ul.u
	if m := lim.MaxFileSize; m > 0 && off > m {
		return tooLarge(m)
	}
	rl.base = off
	u.mu.Lock()
	defer u.mu.Unlock()
	if lim.QuotaFiles > 0 && !rl.fileHeld && off == 0 {
		if u.files+u.resFiles >= lim.QuotaFiles {
			return sdk.Errorf(protocol.CodeQuotaExceeded,
				"your quota of %d files is full; remove files to make room (a replacement counts as a new file until it is stored)", lim.QuotaFiles)
		}
		u.resFiles++
		rl.fileHeld = true
	}
	return nil
}

// take reserves n more body bytes before the host hands them to the
// command or writes them: past the largest file or the byte quota it
// fails, and neither those bytes nor any later ones are delivered.
func (rl *reqLimits) take(n int64) error {
	if rl == nil || n <= 0 {
		return nil
	}
	lim, u := rl.ul.lim, rl.ul.u
	if m := lim.MaxFileSize; m > 0 && rl.base+rl.body+n > m {
		return tooLarge(m)
	}
	if lim.QuotaBytes > 0 {
		u.mu.Lock()
		used := u.bytes + u.resBytes
		if used+n > lim.QuotaBytes {
			u.mu.Unlock()
			return quotaError(lim.QuotaBytes, used)
		}
		u.resBytes += n
		u.mu.Unlock()
		rl.resBytes += n
	}
	rl.body += n
	return nil
}

// settle runs once the command returned, before its status goes: the
// reservations end and the storage change the command reported counts,
// whatever the status (a command that failed half-way may have changed
// the tree, and says so).
func (rl *reqLimits) settle(w *responseWriter) {
	if rl == nil {
		return
	}
	rl.settleUsage(w.metaInt(MetaUsageBytes), w.metaInt(MetaUsageFiles))
}

// settleUsage is settle with the storage change the command reported:
// db bytes and df files (a Local call's writer reads them itself).
func (rl *reqLimits) settleUsage(db, df int64) {
	if rl == nil {
		return
	}
	u := rl.ul.u
	u.mu.Lock()
	u.resBytes -= rl.resBytes
	if rl.fileHeld {
		u.resFiles--
	}
	if u.scanned {
		// Not clamped at 0: reports settle in the order requests end,
		// not the order their renames happened, so a replacement's
		// decrease may come before the increase of the upload it
		// displaced (that one's bytes are still reserved meanwhile, so
		// bytes+resBytes stays true). A clamp at 0 turned each such
		// race into a lasting over-count. The floor is the other
		// requests' reservations instead: bytes+resBytes, what the
		// quota check counts, never goes below 0, so a report that
		// frees a file twice (put's rename fallback measures by name,
		// place.go) can never read as an unlimited quota.
		u.bytes = max(u.bytes+db, -u.resBytes)
		u.files = max(u.files+df, -u.resFiles)
	}
	u.mu.Unlock()
	rl.resBytes, rl.fileHeld = 0, false
}

// metaInt reads an integer the command set as metadata: an int in
// process, a float64 or json.Number from a plugin. Anything else is 0.
func (w *responseWriter) metaInt(key string) int64 {
	w.mu.Lock()
	v, ok := w.meta.Get(key)
	w.mu.Unlock()
	if !ok {
		return 0
	}
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	case float64:
		return int64(v)
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

func tooLarge(max int64) error {
	return sdk.Errorf(sdk.CodeTooLarge, "the upload is over your largest file of %d bytes", max)
}

func quotaError(quota, used int64) error {
	return &sdk.Error{Code: protocol.CodeQuotaExceeded,
		Message: fmt.Sprintf("the upload does not fit in your quota of %d bytes (%d in use)", quota, max(used, 0))}
}
