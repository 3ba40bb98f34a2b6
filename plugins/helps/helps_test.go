package helps

import (
	"strings"
	"testing"

	"github.com/selectftp/selectftp/internal/readme"
	"github.com/selectftp/selectftp/sdk"
	"github.com/selectftp/selectftp/sdk/sdktest"
)

// both runs f in-process and through the plugin transport.
// both runs f on every transport a host may use (sdktest.Each).
func both(t *testing.T, f func(t *testing.T, cmd sdk.Command)) { sdktest.Each(t, New(), f) }

var verbs = []sdk.Description{
	{Verb: "upper", Summary: "shout", Usage: "usage: upper WORD...\n"},
	{Verb: "get", Summary: "download\na file", Usage: "usage: get PATH"},
	{Verb: "put", Summary: "upload a file", Usage: "usage: put PATH\n\nMore.\n"},
}

func TestDescribe(t *testing.T) {
	d := New().Describe()
	if d.Verb != "helps" || d.Summary == "" || strings.Contains(d.Summary, "\n") ||
		!strings.HasPrefix(d.Usage, "usage: helps") || !strings.HasSuffix(d.Usage, "\n") {
		t.Errorf("Describe = %+v", d)
	}
}

func TestList(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		res := sdktest.Run(t, cmd, sdktest.Request{Commands: verbs})
		want := "get\tdownload a file\nput\tupload a file\nupper\tshout\n"
		if res.Err != nil || string(res.Body) != want {
			t.Errorf("helps = %q, %v; want %q", res.Body, res.Err, want)
		}
		// The command's own description is the default host list.
		res = sdktest.Run(t, cmd, sdktest.Request{})
		if want := "helps\tlist the verbs, or show how to call one\n"; string(res.Body) != want {
			t.Errorf("helps = %q, want %q", res.Body, want)
		}
		res = sdktest.Run(t, cmd, sdktest.Request{Commands: []sdk.Description{}})
		if res.Err != nil || len(res.Body) != 0 {
			t.Errorf("no verbs: %q, %v", res.Body, res.Err)
		}
	})
}

func TestUsage(t *testing.T) {
	tests := []struct{ verb, want string }{
		{"put", "usage: put PATH\n\nMore.\n"},
		{"get", "usage: get PATH\n"}, // a newline is added
		{"UPPER", "usage: upper WORD...\n"},
	}
	both(t, func(t *testing.T, cmd sdk.Command) {
		for _, tt := range tests {
			res := sdktest.Run(t, cmd, sdktest.Request{Args: []string{tt.verb}, Commands: verbs})
			if res.Err != nil || string(res.Body) != tt.want {
				t.Errorf("helps %s = %q, %v; want %q", tt.verb, res.Body, res.Err, tt.want)
			}
		}
	})
}

func TestErrors(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		res := sdktest.Run(t, cmd, sdktest.Request{Args: []string{"x"}, Commands: verbs})
		if res.Code != sdk.CodeNotFound || res.Message != `no verb "x"` || len(res.Body) != 0 {
			t.Errorf("helps x: %s %q %q", res.Code, res.Message, res.Body)
		}
		res = sdktest.Run(t, cmd, sdktest.Request{Args: []string{"put", "get"}, Commands: verbs})
		if res.Code != sdk.CodeBadRequest || len(res.Body) != 0 {
			t.Errorf("helps put get: %s %q %q", res.Code, res.Message, res.Body)
		}
	})
}

// A body sent with helps must not stop it from asking the host: over the
// plugin stream the host's answer queues behind the body.
func TestWithBody(t *testing.T) {
	both(t, func(t *testing.T, cmd sdk.Command) {
		body := strings.NewReader(strings.Repeat("unread body ", 200000))
		res := sdktest.Run(t, cmd, sdktest.Request{Body: body, Commands: verbs})
		if res.Err != nil || !strings.HasPrefix(string(res.Body), "get\t") {
			t.Errorf("helps with a body: %q, %v", res.Body, res.Err)
		}
	})
}

func TestReadme(t *testing.T) {
	readme.Check(t, New(), false)
}
