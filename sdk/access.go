package sdk

import (
	"path"
	"strings"
)

// Access declares what a verb does to the paths a request names, so that
// the host can check the session's user may do it before the command runs.
// A verb that declares no Access runs with no Root: it cannot touch a
// file, so a command that forgets to declare cannot leak one.
//
// The paths are the request's words that are not options (see
// Description.Options), or the ones Words picks, and the string (or list
// of strings) values of the Params it names. Each is resolved as Resolve
// does: relative to the session's folder, ".." stopping at the top.
type Access struct {
	// Perm is what each path needs.
	Perm Perm
	// Words picks path words by their position among the paths (0 is the
	// first word after the options); nil takes every one.
	Words []int
	// Params names request parameters that hold a path or a list of
	// paths ("path"; "args" for a command that reads its words with
	// Decode, which takes a client's "args" parameter in their place).
	Params []string
	// Default is the path checked when the request names none; "" is the
	// session's current folder.
	Default string
	// Glob checks a path whose last element is a pattern (*, ?, [ or \)
	// at the folder holding it, which is what a listing of it reads.
	Glob bool
	// Tree also needs Perm at every sub-path below each path that has
	// permissions of its own (a recursive remove, a move of a folder):
	// the user changes what is there too. TreeIf makes it depend on an
	// option (by its Param name) being set.
	Tree   bool
	TreeIf string
	// Parents also needs Perm at each folder above each path, below the
	// top, that does not exist yet: the command makes the missing ones
	// too (mkdir -p). ParentsIf makes it depend on an option (by its
	// Param name) being set.
	Parents   bool
	ParentsIf string
}

// Option is one of a verb's options, as the command parses its words:
// leading words that start with "-" are options until "--" or the first
// other word; one-letter options group ("-la"); an option that takes a
// value takes the next word and must end its group. The request parameter
// named Param sets it too.
type Option struct {
	// Short is the one-letter form, "-r".
	Short string
	// Param is the long form without "--" and the parameter's name.
	Param string
	// Value: the option takes the next word (which is not a path).
	Value bool
}

// Need is one permission a request needs at one path.
type Need struct {
	Perm Perm
	// Path is virtual, clean and absolute ("/" is the top of the tree).
	Path string
	// Tree: Perm is needed below Path too, wherever a sub-path has
	// permissions of its own.
	Tree bool
	// IfMissing: Perm is needed at Path only if nothing is there yet (a
	// parent folder the command would make). A checker that cannot look
	// may need it always, which refuses more but never grants more.
	IfMissing bool
}

// Needs lists the permissions req needs by d's Access declarations, in
// order; nil when d declares none. A word or parameter the host cannot read
// as d says (an unknown option, a path parameter that is not a string) is
// a CodeBadRequest error: a path nobody checked must not reach the command.
func (d Description) Needs(req *Request) ([]Need, error) {
	if len(d.Access) == 0 {
		return nil, nil
	}
	words, set, err := splitOptions(d.Verb, d.Options, req)
	if err != nil {
		return nil, err
	}
	var needs []Need
	for _, a := range d.Access {
		paths := pick(words, a.Words)
		for _, name := range a.Params {
			ps, err := paramPaths(req.Params, name)
			if err != nil {
				return nil, err
			}
			paths = append(paths, ps...)
		}
		if len(paths) == 0 {
			paths = []string{a.Default}
			if a.Default == "" {
				paths[0] = "."
			}
		}
		tree := a.Tree || (a.TreeIf != "" && set[a.TreeIf])
		parents := a.Parents || (a.ParentsIf != "" && set[a.ParentsIf])
		for _, p := range paths {
			rel, err := req.Resolve(p)
			if err != nil {
				return nil, err
			}
			v := Virtual(rel)
			if dir, base := path.Split(v); a.Glob && v != "/" && strings.ContainsAny(base, `*?[\`) {
				v = path.Clean(dir)
			}
			if parents {
				needs = append(needs, parentNeeds(a.Perm, v)...)
			}
			needs = append(needs, Need{Perm: a.Perm, Path: v, Tree: tree})
		}
	}
	return needs, nil
}

// parentNeeds are the IfMissing needs of perm at each folder above v
// (clean, absolute) below the top, outermost first.
func parentNeeds(perm Perm, v string) []Need {
	var out []Need
	for i := 1; i < len(v); i++ {
		if v[i] == '/' {
			out = append(out, Need{Perm: perm, Path: v[:i], IfMissing: true})
		}
	}
	return out
}

// pick returns the words at the positions idx names (all when nil).
func pick(words []string, idx []int) []string {
	if idx == nil {
		return append([]string(nil), words...)
	}
	var out []string
	for _, i := range idx {
		if i >= 0 && i < len(words) {
			out = append(out, words[i])
		}
	}
	return out
}

// paramPaths reads a path parameter: absent or "" is none, a string is
// one, a list of strings is several; anything else is refused.
func paramPaths(params map[string]any, name string) ([]string, error) {
	switch v := params[name].(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
		return []string{v}, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, Errorf(CodeBadRequest, "parameter %s: element %d is not a string", name, i)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, Errorf(CodeBadRequest, "parameter %s must be a path", name)
}

// splitOptions reads req's words as a command with opts does (see Option)
// and returns the other words and the options set, by Param. With no opts
// every word is a path: a command that takes none may read "-x" as a name.
func splitOptions(verb string, opts []Option, req *Request) ([]string, map[string]bool, error) {
	set := map[string]bool{}
	args := req.Args
	if len(opts) == 0 {
		return args, set, nil
	}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		word := args[0]
		args = args[1:]
		if word == "--" {
			break
		}
		group, err := expandOption(verb, opts, word)
		if err != nil {
			return nil, nil, err
		}
		for i, o := range group {
			set[o.Param] = true
			if !o.Value {
				continue
			}
			if i != len(group)-1 {
				return nil, nil, Errorf(CodeBadRequest, "%s: %s takes a value, so it must end the group %q", verb, o.Short, word)
			}
			if len(args) == 0 {
				return nil, nil, Errorf(CodeBadRequest, "%s: %s needs a value", verb, word)
			}
			args = args[1:]
		}
	}
	for _, o := range opts {
		switch v := req.Params[o.Param].(type) {
		case bool:
			set[o.Param] = set[o.Param] || v
		case string:
			set[o.Param] = set[o.Param] || v != ""
		}
	}
	return args, set, nil
}

// expandOption turns one option word into the options it sets.
func expandOption(verb string, opts []Option, word string) ([]Option, error) {
	for _, o := range opts {
		if word == o.Short || word == "--"+o.Param {
			return []Option{o}, nil
		}
	}
	if strings.HasPrefix(word, "--") || len(word) < 3 {
		return nil, Errorf(CodeBadRequest, "%s: unknown option %q", verb, word)
	}
	group := make([]Option, 0, len(word)-1)
	for _, r := range word[1:] {
		found := false
		for _, o := range opts {
			if o.Short != "" && o.Short == "-"+string(r) {
				group, found = append(group, o), true
				break
			}
		}
		if !found {
			return nil, Errorf(CodeBadRequest, "%s: unknown option %q in %q", verb, "-"+string(r), word)
		}
	}
	return group, nil
}
