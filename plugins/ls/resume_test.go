package ls

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/selectftp/selectftp/plugins/cd"
	"github.com/selectftp/selectftp/plugins/get"
	"github.com/selectftp/selectftp/plugins/internal/staging"
	"github.com/selectftp/selectftp/plugins/mkdir"
	"github.com/selectftp/selectftp/plugins/mv"
	"github.com/selectftp/selectftp/plugins/put"
	"github.com/selectftp/selectftp/plugins/rm"
	"github.com/selectftp/selectftp/plugins/stat"
	"github.com/selectftp/selectftp/plugins/sum"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// What an interrupted resumable put leaves is hidden until it is whole: ls
// never lists it (not with -a, -l or a glob that matches it) and no verb
// reads, writes, moves or removes it by name.
func TestResumablePartialHidden(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	data := bytes.Repeat([]byte("partial "), 1000)
	res := sdktest.Run(t, put.New(), sdktest.Request{Root: dir,
		Params: map[string]any{"path": "big.iso", "resume": true},
		Body:   io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errors.New("connection reset")))})
	if res.Code != sdk.CodeCanceled {
		t.Fatalf("interrupted put: %s %q", res.Code, res.Message)
	}
	part := staging.ResumeName("big.iso")
	if got, err := os.ReadFile(filepath.Join(dir, part)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the interrupted put left %d bytes under %s (%v), want %d", len(got), part, err, len(data))
	}

	for _, args := range [][]string{nil, {"-a"}, {"-la"}, {"-a", ".selectftp*"}, {"-a", ".*"}} {
		res := sdktest.Run(t, New(), sdktest.Request{Root: dir, Args: args})
		if bytes.Contains(res.Body, []byte(staging.Prefix)) || !bytes.Contains(res.Body, []byte("a.txt")) && len(args) < 2 {
			t.Errorf("ls %v: %s %q lists %q", args, res.Code, res.Message, res.Body)
		}
	}

	for _, tt := range []struct {
		cmd    sdk.Command
		args   []string
		params map[string]any
	}{
		{New(), []string{part}, nil},
		{New(), []string{"-a", "/" + part}, nil},
		{get.New(), []string{part}, nil},
		{get.New(), nil, map[string]any{"path": part, "offset": 10}},
		{sum.New(), []string{part}, nil},
		{sum.New(), []string{part}, map[string]any{"length": 10}},
		{stat.New(), []string{part}, nil},
		{rm.New(), []string{part}, nil},
		{mv.New(), []string{part, "b"}, nil},
		{mv.New(), []string{"a.txt", part}, nil},
		{mkdir.New(), []string{part + "/x"}, nil},
		{cd.New(), []string{part}, nil},
		{put.New(), nil, map[string]any{"path": part}},
		{put.New(), nil, map[string]any{"path": part, "resume": true, "probe": true}},
	} {
		verb := tt.cmd.Describe().Verb
		res := sdktest.Run(t, tt.cmd, sdktest.Request{Root: dir, Args: tt.args, Params: tt.params, Body: strings.NewReader("x")})
		if res.Code != sdk.CodeBadRequest || !strings.Contains(res.Message, "reserved for uploads in progress") || len(res.Body) != 0 {
			t.Errorf("%s %v %v: %s %q, %d bytes", verb, tt.args, tt.params, res.Code, res.Message, len(res.Body))
		}
	}
	if got, err := os.ReadFile(filepath.Join(dir, part)); err != nil || !bytes.Equal(got, data) {
		t.Errorf("after every verb, the partial holds %d bytes (%v), want %d", len(got), err, len(data))
	}
}
