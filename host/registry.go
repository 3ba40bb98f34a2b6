package host

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/selectftp/selectftp/sdk"
)

// registry is the dispatch table: one entry per verb, from in-process
// registration or from a plugin binary. It belongs to one Server.
type registry struct {
	mu    sync.RWMutex
	verbs map[string]entry
}

type entry struct {
	cmd    sdk.Command
	desc   sdk.Description
	source string // "in-process" or the plugin's path
}

// validVerb keeps verbs to words a user can type and a table can hold.
func validVerb(v string) error {
	if v == "" {
		return fmt.Errorf("empty verb")
	}
	if len(v) > 64 {
		return fmt.Errorf("verb %.16q... is longer than 64 bytes", v)
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("verb %q: use lower-case letters, digits, - and _", v)
		}
	}
	return nil
}

func (r *registry) add(cmd sdk.Command, source string) error {
	d := cmd.Describe()
	if err := validVerb(d.Verb); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.verbs == nil {
		r.verbs = map[string]entry{}
	}
	if old, ok := r.verbs[d.Verb]; ok {
		return fmt.Errorf("verb %q is already served by %s", d.Verb, old.source)
	}
	r.verbs[d.Verb] = entry{cmd: cmd, desc: d, source: source}
	return nil
}

// remove drops verb if source still serves it.
func (r *registry) remove(verb, source string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.verbs[verb]; ok && e.source == source {
		delete(r.verbs, verb)
	}
}

func (r *registry) lookup(verb string) (entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.verbs[strings.ToLower(verb)]
	return e, ok
}

func (r *registry) list() []sdk.Description {
	r.mu.RLock()
	ds := make([]sdk.Description, 0, len(r.verbs))
	for _, e := range r.verbs {
		ds = append(ds, e.desc)
	}
	r.mu.RUnlock()
	sort.Slice(ds, func(i, j int) bool { return ds[i].Verb < ds[j].Verb })
	return ds
}

// hostView is what commands see as sdk.Host.
type hostView struct{ r *registry }

func (h hostView) Commands(context.Context) ([]sdk.Description, error) { return h.r.list(), nil }
