package layers

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/selectftp/selectftp/"

// rules say, for the packages under a prefix, which module packages they
// must not import (by prefix). docs/ARCHITECTURE.md explains each line.
var rules = []struct {
	pkg       string
	forbidden []string
}{
	// The protocol is the bottom layer: anyone may speak it.
	{"protocol", []string{""}},
	// The client speaks only the protocol: it is what programs outside
	// the module copy, and it must not drag in the server.
	{"client", []string{"host", "sdk", "plugins", "cmd", "internal/pluginrpc", "internal/pb"}},
	// Plugin authors import sdk: it knows nothing of the server.
	{"sdk", []string{"host", "client", "plugins", "cmd"}},
	// Verbs reach the server only through the SDK.
	{"plugins", []string{"host", "client", "cmd", "internal/pb"}},
	// The server serves whatever commands it is given; it names no verb.
	{"host", []string{"plugins", "client", "cmd"}},
	{"internal", []string{"host", "plugins", "cmd"}},
	// Commands are leaves: nothing imports them.
	{"", []string{"cmd"}},
}

func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		for _, r := range rules {
			if !under(pkg, r.pkg) {
				continue
			}
			for _, imp := range fields[1:] {
				dep, ok := strings.CutPrefix(imp, module)
				if !ok || under(dep, r.pkg) && r.pkg != "" {
					continue // outside the module, or within its own layer
				}
				for _, f := range r.forbidden {
					if under(dep, f) {
						t.Errorf("%s imports %s: %s may not import %s", pkg, dep, layer(r.pkg), layer(f))
					}
				}
			}
			checked++
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d packages: is go list seeing the module?", checked)
	}
}

// under reports whether pkg is prefix or inside it ("" holds everything).
func under(pkg, prefix string) bool {
	return prefix == "" || pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func layer(prefix string) string {
	if prefix == "" {
		return "anything in the module"
	}
	return prefix + "/..."
}
