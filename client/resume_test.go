package client_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/selectftp/selectftp/client"
)

const mib = 1 << 20

// noticed collects the notices of a transfer.
type noticed struct{ msgs []string }

func (n *noticed) add(m string) { n.msgs = append(n.msgs, m) }

func (n *noticed) said(t *testing.T, want string) {
	t.Helper()
	if len(n.msgs) != 1 || !strings.Contains(n.msgs[0], want) {
		t.Fatalf("notices %q, want one saying %q", n.msgs, want)
	}
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes (%v), want the %d expected", path, len(got), err, len(want))
	}
}

// A download interrupted by the network keeps its part and says so; get
// -c then asks only for the rest, appends it and verifies the whole file.
func TestGetResumeAfterInterruption(t *testing.T) {
	f, addr := newResumeFake(t)
	data := randomBytes(3 * mib)
	f.files["big"] = data
	f.getCut = mib + 123
	dir := t.TempDir()
	local := filepath.Join(dir, "big")
	err := dialAddr(t, addr).GetFileWith(testCtx(t), "big", local, client.FileOptions{})
	var pe *client.PartialError
	if !errors.As(err, &pe) || pe.Size != int64(mib+123) || pe.Part != filepath.Join(dir, ".big.selectftp-part") {
		t.Fatalf("interrupted get: %v (%#v)", err, pe)
	}
	if got := dirEntries(t, dir); !slices.Equal(got, []string{".big.selectftp-part"}) {
		t.Fatalf("after the interruption: %q", got)
	}
	f.getCut = 0
	var n noticed
	var from int64 = -1
	var done, total int64
	err = dialAddr(t, addr).GetFileWith(testCtx(t), "big", local, client.FileOptions{
		Resume: true, Notice: n.add, Resumed: func(k int64) { from = k },
		Progress: func(d, tt int64) { done, total = d, tt }})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, local, data)
	if got := dirEntries(t, dir); !slices.Equal(got, []string{"big"}) {
		t.Fatalf("after the resume: %q", got)
	}
	if q := f.last("get"); q.Params["offset"] != float64(mib+123) {
		t.Fatalf("resumed get asked %v", q.Params)
	}
	if _, down := f.counts(); down != int64(mib+123)+int64(len(data)-mib-123) {
		t.Fatalf("%d body bytes sent in all, want %d", down, len(data))
	}
	if from != mib+123 || len(n.msgs) != 0 || done != int64(len(data)) || total != int64(len(data)) {
		t.Fatalf("resumed from %d, notices %q, progress %d/%d", from, n.msgs, done, total)
	}
}

// A local part that is not the remote file's start is noticed and the
// file downloaded whole; so is a part longer than the remote file.
func TestGetResumeMismatchedPartRestarts(t *testing.T) {
	for _, tc := range []struct {
		name string
		part []byte
	}{{"changed", bytes.Repeat([]byte{7}, mib)}, {"longer", randomBytes(4 * mib)}} {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newResumeFake(t)
			data := randomBytes(2 * mib)
			f.files["f"] = data
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ".f.selectftp-part"), tc.part, 0o644); err != nil {
				t.Fatal(err)
			}
			var n noticed
			err := dialAddr(t, addr).GetFileWith(testCtx(t), "f", filepath.Join(dir, "f"), client.FileOptions{Resume: true, Notice: n.add})
			if err != nil {
				t.Fatal(err)
			}
			n.said(t, "local part of "+filepath.Join(dir, "f")+" no longer matches f; starting again from zero")
			checkFile(t, filepath.Join(dir, "f"), data)
			if _, ok := f.last("get").Params["offset"]; ok {
				t.Fatalf("restart asked %v", f.last("get").Params)
			}
			if got := dirEntries(t, dir); !slices.Equal(got, []string{"f"}) {
				t.Fatalf("left: %q", got)
			}
		})
	}
}

// The remote file changing between the check of the part and the
// download is caught by the whole-file digest, and the file downloaded
// again whole.
func TestGetResumeRemoteChangedMidway(t *testing.T) {
	f, addr := newResumeFake(t)
	old := randomBytes(2 * mib)
	f.files["f"] = old
	changed := bytes.Clone(old)
	changed[10] ^= 1
	changed = append(changed, 1, 2, 3)
	f.afterSum = func(f *resumeFake) { f.files["f"] = changed }
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ".f.selectftp-part"), old[:mib], 0o644); err != nil {
		t.Fatal(err)
	}
	var n noticed
	var from int64
	err := dialAddr(t, addr).GetFileWith(testCtx(t), "f", filepath.Join(dir, "f"), client.FileOptions{Resume: true, Notice: n.add, Resumed: func(k int64) { from = k }})
	if err != nil {
		t.Fatal(err)
	}
	n.said(t, "no longer matches f; starting again from zero")
	checkFile(t, filepath.Join(dir, "f"), changed)
	if from != 0 {
		t.Fatalf("reported resumed from %d", from)
	}
}

// A download whose digest fails removes its part: those bytes are not
// worth resuming.
func TestGetChecksumFailureRemovesPart(t *testing.T) {
	f, addr := newResumeFake(t)
	f.files["f"] = randomBytes(mib)
	f.badDigest = true
	dir := t.TempDir()
	err := dialAddr(t, addr).GetFileWith(testCtx(t), "f", filepath.Join(dir, "f"), client.FileOptions{})
	if !errors.Is(err, client.ErrChecksum) {
		t.Fatalf("got %v", err)
	}
	var pe *client.PartialError
	if errors.As(err, &pe) {
		t.Fatalf("a checksum failure kept its part: %v", pe)
	}
	if got := dirEntries(t, dir); len(got) != 0 {
		t.Fatalf("left: %q", got)
	}
}

// A part another download holds (locked) is left alone: this one goes to
// a temporary file of its own, and leaves nothing else.
func TestGetPartHeldByAnotherDownload(t *testing.T) {
	f, addr := newResumeFake(t)
	data := randomBytes(mib)
	f.files["f"] = data
	dir := t.TempDir()
	held, err := os.OpenFile(filepath.Join(dir, ".f.selectftp-part"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	held.Write([]byte("someone else's"))
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX); err != nil {
		t.Skip(err)
	}
	err = dialAddr(t, addr).GetFileWith(testCtx(t), "f", filepath.Join(dir, "f"), client.FileOptions{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(dir, "f"), data)
	checkFile(t, held.Name(), []byte("someone else's"))
	if got := dirEntries(t, dir); !slices.Equal(got, []string{".f.selectftp-part", "f"}) {
		t.Fatalf("left: %q", got)
	}
}

// A name too long for the part suffix gets a hashed part name.
func TestGetLongNamePart(t *testing.T) {
	f, addr := newResumeFake(t)
	name := strings.Repeat("n", 250)
	f.files[name] = randomBytes(1000)
	f.getCut = 500
	dir := t.TempDir()
	err := dialAddr(t, addr).GetFileWith(testCtx(t), name, filepath.Join(dir, name), client.FileOptions{})
	var pe *client.PartialError
	if !errors.As(err, &pe) || !strings.HasPrefix(filepath.Base(pe.Part), ".selectftp-part-") || len(filepath.Base(pe.Part)) != 16+32 {
		t.Fatalf("got %v (%#v)", err, pe)
	}
	f.getCut = 0
	if err := dialAddr(t, addr).GetFileWith(testCtx(t), name, filepath.Join(dir, name), client.FileOptions{Resume: true}); err != nil {
		t.Fatal(err)
	}
	if q := f.last("get"); q.Params["offset"] != float64(500) {
		t.Fatalf("resumed get asked %v", q.Params)
	}
	checkFile(t, filepath.Join(dir, name), f.files[name])
}

// Every put of a file is staged resumable, so any interrupted one can be
// continued with put -c.
func TestPutIsAlwaysResumable(t *testing.T) {
	f, addr := newResumeFake(t)
	local := filepath.Join(t.TempDir(), "f")
	data := randomBytes(2 * mib)
	os.WriteFile(local, data, 0o644)
	if err := dialAddr(t, addr).PutFileWith(testCtx(t), local, "f", client.FileOptions{}); err != nil {
		t.Fatal(err)
	}
	if q := f.last("put"); q.Params["resume"] != true || q.Params["probe"] != nil || q.Params["offset"] != nil {
		t.Fatalf("put params %v", q.Params)
	}
	if !bytes.Equal(f.files["f"], data) {
		t.Fatal("stored file differs")
	}
}

// put -c sends only what the server's partial lacks, with the whole
// file's digest; without a partial it is an ordinary put.
func TestPutResume(t *testing.T) {
	f, addr := newResumeFake(t)
	local := filepath.Join(t.TempDir(), "f")
	data := randomBytes(3 * mib)
	os.WriteFile(local, data, 0o644)
	f.partials["f"] = bytes.Clone(data[:2*mib+5])
	var n noticed
	var from int64
	var done, total int64
	err := dialAddr(t, addr).PutFileWith(testCtx(t), local, "f", client.FileOptions{Resume: true, Notice: n.add,
		Resumed: func(k int64) { from = k }, Progress: func(d, tt int64) { done, total = d, tt }})
	if err != nil {
		t.Fatal(err)
	}
	q := f.last("put")
	if q.Params["offset"] != float64(2*mib+5) || q.Params["file_digest"] != digestOf(t, q.Checksum, data) || q.Params["resume"] != true {
		t.Fatalf("resumed put params %v", q.Params)
	}
	if up, _ := f.counts(); up != int64(len(data)-2*mib-5) {
		t.Fatalf("%d body bytes sent, want %d", up, len(data)-2*mib-5)
	}
	if !bytes.Equal(f.files["f"], data) || from != 2*mib+5 || len(n.msgs) != 0 || done != total || total != int64(len(data)) {
		t.Fatalf("stored %d bytes, from %d, notices %q, progress %d/%d", len(f.files["f"]), from, n.msgs, done, total)
	}
	// No partial now: put -c is a put.
	from = -1
	if err := dialAddr(t, addr).PutFileWith(testCtx(t), local, "g", client.FileOptions{Resume: true, Notice: n.add, Resumed: func(k int64) { from = k }}); err != nil {
		t.Fatal(err)
	}
	if q := f.last("put"); q.Params["offset"] != nil || !bytes.Equal(f.files["g"], data) || from != -1 || len(n.msgs) != 0 {
		t.Fatalf("put -c without a partial: %v, notices %q", q.Params, n.msgs)
	}
}

// A partial that is not the local file's start, or one the server
// refuses to resume after the probe, restarts from zero with a notice.
func TestPutResumeMismatchRestarts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		partial func(data []byte) []byte
		refuse  bool
	}{
		{"changed", func(d []byte) []byte { p := bytes.Clone(d[:mib]); p[7] ^= 1; return p }, false},
		{"longer", func(d []byte) []byte { return append(bytes.Clone(d), 1) }, false},
		{"refused", func(d []byte) []byte { return bytes.Clone(d[:mib]) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := newResumeFake(t)
			local := filepath.Join(t.TempDir(), "f")
			data := randomBytes(2 * mib)
			os.WriteFile(local, data, 0o644)
			f.partials["f"] = tc.partial(data)
			f.refuseOffset = tc.refuse
			var n noticed
			if err := dialAddr(t, addr).PutFileWith(testCtx(t), local, "f", client.FileOptions{Resume: true, Notice: n.add}); err != nil {
				t.Fatal(err)
			}
			n.said(t, "remote partial upload of f no longer matches "+local+"; starting again from zero")
			if q := f.last("put"); q.Params["offset"] != nil || !bytes.Equal(f.files["f"], data) {
				t.Fatalf("restart %v, stored %d bytes", q.Params, len(f.files["f"]))
			}
		})
	}
}
