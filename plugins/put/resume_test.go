package put

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// resumeCase is one resumable put against a folder holding, or not, a
// partial upload of "f".
type resumeCase struct {
	name    string
	partial []byte // the partial before the put; nil: none
	held    bool   // a live upload holds the partial
	params  map[string]any
	body    []byte
	endErr  error // what the body ends with instead of EOF
	code    sdk.Code
	msg     string         // a part of the status message
	meta    map[string]any // the metadata wanted, exactly (nil: not checked)
	target  []byte         // what "f" holds after; nil: absent
	after   []byte         // what the partial holds after; nil: absent
}

func TestPutResume(t *testing.T) {
	data := make([]byte, 3<<20+5) // over a MiB: the host writes it in pieces
	rand.Read(data)
	other := bytes.Repeat([]byte("x"), len(data))
	const off = 1<<20 + 7
	alg := checksum.Default
	whole := digestOf(alg, data)
	damaged := sdk.Errorf(sdk.CodeChecksum, "the body was damaged on the way")
	params := func(kv ...any) map[string]any {
		m := map[string]any{"path": "f", "resume": true}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	okMeta := map[string]any{"path": "f", "size": float64(len(data)), alg.String(): whole}
	cases := []resumeCase{
		{name: "fresh, resumable", params: params(), body: data, meta: okMeta, target: data},
		{name: "resumes the partial", partial: data[:off], params: params("offset", off, "file_digest", whole),
			body: data[off:], meta: okMeta, target: data},
		{name: "resumes without file_digest, whole digest in meta", partial: data[:off], params: params("offset", off),
			body: data[off:], meta: okMeta, target: data},
		{name: "keeps only offset bytes of a longer partial", partial: append(bytes.Clone(data[:off]), "junk"...),
			params: params("offset", off, "file_digest", whole), body: data[off:], meta: okMeta, target: data},
		{name: "a longer partial is cut at offset", partial: append(bytes.Clone(data), "trailing junk"...),
			params: params("offset", len(data)), meta: okMeta, target: data},
		{name: "offset 0 starts again", partial: other[:off], params: params("offset", 0), body: data, meta: okMeta, target: data},
		{name: "offset beyond the partial", partial: data[:100], params: params("offset", 200), body: data[200:],
			code: sdk.CodeBadRequest, msg: "no partial upload of f has 200 bytes; start again from zero", after: data[:100]},
		{name: "offset with no partial", params: params("offset", 10), body: data[10:],
			code: sdk.CodeBadRequest, msg: "no partial upload of f has 10 bytes; start again from zero"},
		{name: "file_digest mismatch removes the partial", partial: other[:off], params: params("offset", off, "file_digest", whole),
			body: data[off:], code: sdk.CodeChecksum, msg: "the resumed upload of f does not match the file; start again"},
		{name: "file_digest mismatch from zero", params: params("file_digest", digestOf(alg, other)), body: data,
			code: sdk.CodeChecksum, msg: "the resumed upload of f does not match the file; start again"},
		{name: "a damaged range truncates back to offset", partial: data[:off], params: params("offset", off),
			body: data[off:], endErr: damaged, code: sdk.CodeChecksum, msg: "damaged", after: data[:off]},
		{name: "a damaged body from zero keeps nothing", params: params(), body: data, endErr: damaged,
			code: sdk.CodeChecksum, msg: "damaged"},
		{name: "held partial: resume is busy", partial: data[:off], held: true, params: params("offset", off),
			body: data[off:], code: "busy", msg: "another upload of f is in progress", after: data[:off]},
		{name: "held partial: a fresh upload is not resumable but works", partial: other[:off], held: true,
			params: params(), body: data, meta: okMeta, target: data, after: other[:off]},
		{name: "probe", partial: data[:off], params: params("probe", true), after: data[:off],
			meta: map[string]any{"path": "f", "partial": float64(off), "partial_digest": digestOf(alg, data[:off])}},
		{name: "probe without a partial", params: params("probe", true), meta: map[string]any{"path": "f", "partial": float64(0)}},
		{name: "probe of a held partial", partial: data[:off], held: true, params: params("probe", true),
			code: "busy", msg: "another upload of f is in progress", after: data[:off]},
		{name: "offset without resume", params: map[string]any{"path": "f", "offset": 5}, body: data[5:],
			code: sdk.CodeBadRequest, msg: "offset, file_digest and probe go only with resume"},
		{name: "negative offset", params: params("offset", -1), body: data, code: sdk.CodeBadRequest, msg: "offset -1"},
		{name: "file_digest not a digest", params: params("file_digest", "xyz"), body: data, code: sdk.CodeBadRequest, msg: "file_digest"},
		{name: "probe with a body", params: params("probe", true), body: data, code: sdk.CodeBadRequest, msg: "a probe takes no body"},
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		for _, tt := range cases {
			runResumeCase(t, cmd, tt)
		}
	})
}

func runResumeCase(t *testing.T, cmd sdk.Command, tt resumeCase) {
	t.Helper()
	dir := t.TempDir()
	part := filepath.Join(dir, staging.ResumeName("f"))
	if tt.partial != nil {
		if err := os.WriteFile(part, tt.partial, 0o644); err != nil {
			t.Fatal(err)
		}
		if tt.held {
			f, err := os.OpenFile(part, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := staging.Hold(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Params: tt.params, Body: bytes.NewReader(tt.body),
		Size: sdktest.Declared(int64(len(tt.body))), EndErr: tt.endErr})
	if tt.code == "" {
		tt.code = sdk.CodeOK
	}
	if res.Code != tt.code || !strings.Contains(res.Message, tt.msg) {
		t.Errorf("%s: %s %q, want %s %q", tt.name, res.Code, res.Message, tt.code, tt.msg)
	}
	if tt.meta != nil && !sameMeta(res.Meta, tt.meta) {
		t.Errorf("%s: meta %v, want %v", tt.name, res.Meta, tt.meta)
	}
	// The plugin may clean up after the host answered: wait for the state.
	waitContent(t, tt.name+": f", filepath.Join(dir, "f"), tt.target)
	if tt.endErr != nil && streaming(t) {
		// Without descriptor passing the host ends the stream on a bad
		// digest: the plugin cannot tell it from a client gone away, and
		// keeps the bytes that reached it. A resume's probe catches them.
		return
	}
	waitContent(t, tt.name+": the partial", part, tt.after)
}

// streaming reports whether t runs over sdktest.ServeGRPCStreaming (see
// both), where the body crosses gRPC and its end comes as a broken stream.
func streaming(t *testing.T) bool { return strings.Contains(t.Name(), "grpc-streaming") }

func sameMeta(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// waitContent waits, a bounded time, until the file p holds want (nil:
// until it is absent).
func waitContent(t *testing.T, what, p string, want []byte) {
	t.Helper()
	var got []byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; {
		got, err = os.ReadFile(p)
		if (want == nil && errors.Is(err, os.ErrNotExist)) || (want != nil && err == nil && bytes.Equal(got, want)) {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Errorf("%s holds %d bytes (%v), want %d (nil: absent %v)", what, len(got), err, len(want), want == nil)
}

// An interrupted resumable upload leaves the bytes it wrote under the
// partial name, never under the target's; probe tells how many and their
// digest; a put from there completes the file with only the rest sent.
func TestPutResumeAfterInterrupt(t *testing.T) {
	data := make([]byte, 2<<20+3)
	rand.Read(data)
	const sent = 1<<20 + 11
	alg := checksum.Default
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		req := uploadReq("f", data)
		req.Root = dir
		req.Params["resume"] = true
		req.Body = io.MultiReader(bytes.NewReader(data[:sent]), iotest.ErrReader(errors.New("connection reset")))
		if res := sdktest.Run(t, cmd, req); res.Code != sdk.CodeCanceled {
			t.Fatalf("interrupted upload: %s %q, want canceled", res.Code, res.Message)
		}
		// The plugin lets go of the partial on its own time: probe until
		// it has. Over a streaming transport the bytes in flight when the
		// stream broke never reached the plugin: a shorter prefix.
		kept := int64(sent)
		probe := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Params: map[string]any{"path": "f", "resume": true, "probe": true}})
		for deadline := time.Now().Add(10 * time.Second); probe.Code == "busy" && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			probe = sdktest.Run(t, cmd, sdktest.Request{Root: dir, Params: map[string]any{"path": "f", "resume": true, "probe": true}})
		}
		if n, ok := probe.Meta["partial"].(float64); ok && streaming(t) && n > 0 && n <= sent {
			kept = int64(n)
		}
		want := map[string]any{"path": "f", "partial": float64(kept), "partial_digest": digestOf(alg, data[:kept])}
		if probe.Err != nil || !sameMeta(probe.Meta, want) {
			t.Fatalf("probe: %v %v, want %v", probe.Err, probe.Meta, want)
		}
		waitContent(t, "the partial", filepath.Join(dir, staging.ResumeName("f")), data[:kept])
		expectFiles(t, dir, staging.ResumeName("f"))

		req = uploadReq("f", data[kept:])
		req.Root = dir
		req.Params["resume"], req.Params["offset"], req.Params["file_digest"] = true, kept, digestOf(alg, data)
		res := sdktest.Run(t, cmd, req)
		if res.Err != nil || res.Meta["size"] != float64(len(data)) || res.Meta[alg.String()] != digestOf(alg, data) {
			t.Fatalf("resume: %v %v", res.Err, res.Meta)
		}
		waitContent(t, "f", filepath.Join(dir, "f"), data)
		waitFiles(t, dir, "f")
	})
}

// A resumed upload's kept prefix was on disk before it began: only the
// bytes it writes past it count against what it declared, else the space
// check takes it for further along than it is and promises its room away.
func TestAdmitResumedPrefix(t *testing.T) {
	const mib = 1 << 20
	var s staged
	e, err := s.admit(2*mib, limits{space: space{avail: 1 << 40, total: 1 << 40, ok: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.end()
	f, err := os.Create(filepath.Join(t.TempDir(), staging.ResumeName("f")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(bytes.Repeat([]byte("a"), 3*mib)); err != nil { // the partial kept
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	e.prefix.Store(3 * mib)
	e.hold(f)
	s.refresh()
	if _, _, toCome := s.Stats(); toCome != 2*mib {
		t.Errorf("a resume that has written nothing yet has %d bytes to come, want %d", toCome, 2*mib)
	}
}

// A resumed stream that grows past max_size is refused and its partial cut
// back to the offset it resumed from: the prefix stays good for a resume.
func TestPutResumeTooLarge(t *testing.T) {
	data := make([]byte, 1<<20)
	rand.Read(data)
	const off = 1000
	cmd := New()
	if err := cmd.(sdk.Configurer).Configure(t.Context(), map[string]any{"max_size": off + 10}); err != nil {
		t.Fatal(err)
	}
	sdktest.Each(t, cmd, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		part := filepath.Join(dir, staging.ResumeName("f"))
		if err := os.WriteFile(part, data[:off], 0o644); err != nil {
			t.Fatal(err)
		}
		res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Body: bytes.NewReader(data[off:]),
			Params: map[string]any{"path": "f", "resume": true, "offset": off}})
		if res.Code != sdk.CodeTooLarge {
			t.Errorf("a resumed stream past max_size: %s %q", res.Code, res.Message)
		}
		waitContent(t, "the partial", part, data[:off])
		waitContent(t, "f", filepath.Join(dir, "f"), nil)
	})
}
