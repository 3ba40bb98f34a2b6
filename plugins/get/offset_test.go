package get

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/selectftp/selectftp/client"
	"github.com/selectftp/selectftp/host/hosttest"
	"github.com/selectftp/selectftp/internal/checksum"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/protocol"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// offsetCase is one get of "f" (size bytes) from offset.
type offsetCase struct {
	name   string
	offset any
	code   sdk.Code
	msg    string
}

func offsetCases(size int) []offsetCase {
	return []offsetCase{
		{name: "zero", offset: 0},
		{name: "middle", offset: size/2 + 1},
		{name: "at the end: empty body", offset: size},
		{name: "past the end", offset: size + 1, code: sdk.CodeBadRequest,
			msg: "offset " + strconv.Itoa(size+1) + " is past the end of f (" + strconv.Itoa(size) + " bytes)"},
		{name: "negative", offset: -1, code: sdk.CodeBadRequest, msg: "offset -1: must be 0 or more"},
		{name: "not a number", offset: "12", code: sdk.CodeBadRequest, msg: "offset"},
	}
}

// get with offset sends the file from there on: the metadata's size stays
// the whole file's and offset says where the body starts; the range moves
// by the host's file path, with no cached whole-file digest for a range.
func TestGetOffset(t *testing.T) {
	data := make([]byte, 3<<20+5)
	rand.Read(data)
	both(t, func(t *testing.T, cmd sdk.Command) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "f"), data)
		for _, tt := range offsetCases(len(data)) {
			res := sdktest.Run(t, cmd, sdktest.Request{Root: dir, Params: map[string]any{"path": "f", "offset": tt.offset}})
			if tt.code == "" {
				tt.code = sdk.CodeOK
			}
			if res.Code != tt.code || !strings.Contains(res.Message, tt.msg) {
				t.Errorf("%s: %s %q, want %s %q", tt.name, res.Code, res.Message, tt.code, tt.msg)
				continue
			}
			if tt.code != sdk.CodeOK {
				continue
			}
			off := tt.offset.(int)
			want := map[string]any{"size": float64(len(data))}
			if off > 0 {
				want["offset"] = float64(off)
			}
			if len(res.Meta) != len(want) || res.Meta["size"] != want["size"] || res.Meta["offset"] != want["offset"] {
				t.Errorf("%s: meta %v, want %v", tt.name, res.Meta, want)
			}
			if !bytes.Equal(res.Body, data[off:]) {
				t.Errorf("%s: %d bytes, want the %d from %d", tt.name, len(res.Body), len(data)-off, off)
			}
		}
	})
}

// Through a real server the status digest is the range's, in the request's
// algorithm: even when put cached the whole file's digest, which a range
// must never be sent with.
func TestGetOffsetStatusDigest(t *testing.T) {
	srv := hosttest.NewServer(t, put.New(), New())
	data := bytes.Repeat([]byte("resume me "), 100_000)
	for _, alg := range checksum.All() {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		conn, err := client.Dial(ctx, srv.Addr, client.WithChecksum(alg.String()))
		if err != nil {
			t.Fatal(err)
		}
		name := "f-" + alg.String()
		if err := conn.Put(ctx, bytes.NewReader(data), int64(len(data)), name, nil); err != nil {
			t.Fatalf("%s: put: %v", alg, err) // caches the whole file's digest
		}
		for _, tt := range offsetCases(len(data)) {
			var got bytes.Buffer
			_, st, err := conn.DoStatus(ctx, protocol.Request{Verb: "get", Checksum: alg.String(),
				Params: map[string]any{"path": name, "offset": tt.offset}}, nil, &got)
			if tt.code != "" {
				if st.Code != tt.code {
					t.Errorf("%s %s: %s %q (%v), want %s", alg, tt.name, st.Code, st.Message, err, tt.code)
				}
				continue
			}
			off := tt.offset.(int)
			h := alg.New()
			h.Write(data[off:])
			if err != nil || !bytes.Equal(got.Bytes(), data[off:]) || st.Digest != alg.Encode(h.Sum(nil)) {
				t.Errorf("%s %s: %d bytes, status digest %s (%v), want %d bytes, digest %x",
					alg, tt.name, got.Len(), st.Digest, err, len(data)-off, h.Sum(nil))
			}
		}
		conn.Close()
		cancel()
	}
}
