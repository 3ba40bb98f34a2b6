package pwd

import (
	"context"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
)

type buf struct{ strings.Builder }

func (*buf) SetMeta(string, any) error { return nil }

func TestPwd(t *testing.T) {
	for dir, want := range map[string]string{"": "/\n", "/": "/\n", "/a/b": "/a/b\n"} {
		var w buf
		if err := New().Run(context.Background(), &sdk.Request{Dir: dir}, &w); err != nil || w.String() != want {
			t.Errorf("pwd in %q: %v %q", dir, err, w.String())
		}
	}
	if err := New().Run(context.Background(), &sdk.Request{Args: []string{"x"}}, &buf{}); sdk.CodeOf(err) != sdk.CodeBadRequest {
		t.Errorf("pwd x: %v", err)
	}
}

func TestReadme(t *testing.T) { readme.Check(t, New(), false) }
