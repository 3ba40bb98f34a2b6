package sdktest_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// declared answers the request's BodySize and Checksum as metadata and
// reads the whole body, returning its read error.
var declared = sdk.Func(sdk.Description{Verb: "declared", Summary: "s", Usage: "usage: declared\n"},
	func(ctx context.Context, req *sdk.Request, w sdk.ResponseWriter) error {
		if err := w.SetMeta("body_size", req.BodySize); err != nil {
			return err
		}
		if err := w.SetMeta("checksum", req.Checksum); err != nil {
			return err
		}
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})

// A Request built by Run says what the test declared, as a server's does:
// -1 for a body of unknown length, never 0 (which declares an empty body),
// and the default algorithm when the test names none.
func TestRunDeclares(t *testing.T) {
	both(t, declared, func(t *testing.T, cmd sdk.Command) {
		for _, tc := range []struct {
			req      sdktest.Request
			size     float64
			checksum string
		}{
			{sdktest.Request{Body: strings.NewReader("abc")}, -1, sdk.Algorithms()[0]},
			{sdktest.Request{}, -1, sdk.Algorithms()[0]},
			{sdktest.Request{Body: strings.NewReader("abc"), Size: sdktest.Declared(3), Checksum: "sha256"}, 3, "sha256"},
			{sdktest.Request{Size: sdktest.Declared(0), Checksum: "blake3"}, 0, "blake3"},
		} {
			res := sdktest.Run(t, cmd, tc.req)
			if res.Err != nil || res.Meta["body_size"] != tc.size || res.Meta["checksum"] != tc.checksum {
				t.Errorf("Size %v Checksum %q: %v %v, want body_size %v checksum %s",
					tc.req.Size, tc.req.Checksum, res.Meta, res.Err, tc.size, tc.checksum)
			}
		}
	})
}

// Like a server, Run fails a body that does not match its declared size,
// or that the test says fails verification, and keeps the bytes before.
func TestRunVerifiesBody(t *testing.T) {
	damaged := sdk.Errorf(sdk.CodeChecksum, "damaged on the way")
	both(t, declared, func(t *testing.T, cmd sdk.Command) {
		for _, tc := range []struct {
			name string
			req  sdktest.Request
			code sdk.Code
			msg  string
		}{
			{"longer", sdktest.Request{Body: strings.NewReader("abcd"), Size: sdktest.Declared(3)},
				sdk.CodeChecksum, "the body is longer than the 3 bytes its request declared"},
			{"shorter", sdktest.Request{Body: strings.NewReader("ab"), Size: sdktest.Declared(3)},
				sdk.CodeChecksum, "the body ended after 2 bytes, short of the 3 its request declared"},
			{"declared empty", sdktest.Request{Body: strings.NewReader("a"), Size: sdktest.Declared(0)},
				sdk.CodeChecksum, "the body is longer than the 0 bytes its request declared"},
			{"damaged", sdktest.Request{Body: strings.NewReader("abc"), EndErr: damaged},
				sdk.CodeChecksum, "damaged on the way"},
			{"abandoned", sdktest.Request{Body: strings.NewReader("abc"), Size: sdktest.Declared(3),
				EndErr: sdk.Errorf(sdk.CodeCanceled, "gave up")}, sdk.CodeCanceled, "gave up"},
			{"exact", sdktest.Request{Body: strings.NewReader("abc"), Size: sdktest.Declared(3)}, sdk.CodeOK, ""},
		} {
			res := sdktest.Run(t, cmd, tc.req)
			if res.Code != tc.code || res.Message != tc.msg {
				t.Errorf("%s: %s %q, want %s %q", tc.name, res.Code, res.Message, tc.code, tc.msg)
			}
		}
	})
}
