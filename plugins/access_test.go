package plugins_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/selectftp/selectftp/plugins"
	"github.com/selectftp/selectftp/plugins/internal/fileop"
	"github.com/selectftp/selectftp/sdk"
)

// The host finds a request's paths by the verb's Description (Options,
// Access) before the command runs; the file verbs find them with
// fileop.Parse and the flags they pass it. If the two ever read a word
// differently, a path reaches the command unchecked. This test reads the
// flags each verb really passes (from its source, so no copy can drift),
// requires them to equal its declared Options, and then checks on many
// argument lists that every path the command would use is one the host
// checked, with the tree and parents needs its options call for.
func TestDeclaredOptionsMatchParse(t *testing.T) {
	found := map[string]bool{}
	for _, verb := range plugins.Verbs() {
		calls := parseCalls(t, verb)
		if len(calls) == 0 {
			continue
		}
		cmd, _ := plugins.New(verb)
		d := cmd.Describe()
		for _, flags := range calls {
			found[verb] = true
			if !sameOptions(d.Options, flags) {
				t.Errorf("%s declares options %+v but parses with %+v", verb, d.Options, flags)
				continue
			}
			checkWords(t, d, flags)
		}
	}
	// The test must not pass by finding nothing.
	for _, v := range []string{"cd", "ls", "mkdir", "mv", "rm", "stat", "sum"} {
		if !found[v] {
			t.Errorf("found no fileop.Parse call in plugins/%s", v)
		}
	}
}

// parseCalls returns the flags of each fileop.Parse call in the verb's
// package (not its tests). A call whose flags are not literals is an
// error: the test could not say what it accepts.
func parseCalls(t *testing.T, verb string) [][]fileop.Flag {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(verb, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var calls [][]fileop.Flag
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSel(call.Fun, "fileop", "Parse") {
				return true
			}
			if len(call.Args) < 2 || call.Ellipsis.IsValid() {
				t.Errorf("%s: a fileop.Parse call this test cannot read", fset.Position(call.Pos()))
				return true
			}
			if lit, ok := call.Args[1].(*ast.BasicLit); !ok || lit.Value != strconv.Quote(verb) {
				t.Errorf("%s: fileop.Parse for another verb than %s", fset.Position(call.Pos()), verb)
			}
			var flags []fileop.Flag
			for _, a := range call.Args[2:] {
				fl, ok := flagOf(a)
				if !ok {
					t.Errorf("%s: a flag this test cannot read", fset.Position(a.Pos()))
				}
				flags = append(flags, fl)
			}
			calls = append(calls, flags)
			return true
		})
	}
	return calls
}

func isSel(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == pkg && s.Sel.Name == name
}

// flagOf reads a fileop.Flag{...} literal.
func flagOf(e ast.Expr) (fileop.Flag, bool) {
	lit, ok := e.(*ast.CompositeLit)
	if !ok || !isSel(lit.Type, "fileop", "Flag") {
		return fileop.Flag{}, false
	}
	var f fileop.Flag
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			return f, false
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			return f, false
		}
		switch v := kv.Value.(type) {
		case *ast.BasicLit:
			s, err := strconv.Unquote(v.Value)
			if err != nil {
				return f, false
			}
			switch key.Name {
			case "Short":
				f.Short = s
			case "Param":
				f.Param = s
			default:
				return f, false
			}
		case *ast.Ident:
			if key.Name != "Value" || v.Name != "true" && v.Name != "false" {
				return f, false
			}
			f.Value = v.Name == "true"
		default:
			return f, false
		}
	}
	return f, true
}

func sameOptions(opts []sdk.Option, flags []fileop.Flag) bool {
	if len(opts) != len(flags) {
		return false
	}
	for _, f := range flags {
		if !slices.Contains(opts, sdk.Option{Short: f.Short, Param: f.Param, Value: f.Value}) {
			return false
		}
	}
	return true
}

// checkWords runs fileop.Parse and d.Needs on every list of up to three
// words from the options' spellings, some paths and some mistakes, with
// and without option parameters.
func checkWords(t *testing.T, d sdk.Description, flags []fileop.Flag) {
	t.Helper()
	tokens := []string{"--", "-", "x", "/y/z", "-z", "--zz", "-" + "q"}
	letters := ""
	for _, f := range flags {
		tokens = append(tokens, "--"+f.Param)
		if f.Short != "" {
			tokens = append(tokens, f.Short, f.Short+"z")
			letters += f.Short[1:]
		}
	}
	if len(letters) > 1 {
		tokens = append(tokens, "-"+letters, "-"+reverse(letters))
	}
	paramSets := []map[string]any{nil}
	for _, f := range flags {
		v := any(true)
		if f.Value {
			v = "sha256"
		}
		paramSets = append(paramSets, map[string]any{f.Param: v})
	}
	n := 0
	var words []string
	var walk func(depth int)
	walk = func(depth int) {
		for _, ps := range paramSets {
			n++
			checkOne(t, d, flags, &sdk.Request{Args: slices.Clone(words), Params: ps, Dir: "/cur"})
		}
		if depth == 3 {
			return
		}
		for _, tok := range tokens {
			words = append(words, tok)
			walk(depth + 1)
			words = words[:len(words)-1]
		}
	}
	walk(0)
	if n < 100 {
		t.Errorf("%s: only %d argument lists", d.Verb, n)
	}
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// checkOne: whatever the command would act on, the host checked.
func checkOne(t *testing.T, d sdk.Description, flags []fileop.Flag, req *sdk.Request) {
	t.Helper()
	a, perr := fileop.Parse(req, d.Verb, flags...)
	if perr != nil {
		return // the command refuses it: nothing is touched
	}
	needs, err := d.Needs(req)
	if err != nil {
		t.Errorf("%s %q %v: the command reads it, the host refuses it: %v", d.Verb, req.Args, req.Params, err)
		return
	}
	for _, acc := range d.Access {
		for _, p := range a.Paths {
			rel, err := req.Resolve(p)
			if err != nil {
				continue // the command cannot resolve it either
			}
			v := sdk.Virtual(rel)
			if dir, base := path.Split(v); acc.Glob && v != "/" && strings.ContainsAny(base, `*?[\`) {
				v = path.Clean(dir)
			}
			i := slices.IndexFunc(needs, func(n sdk.Need) bool { return n.Perm == acc.Perm && n.Path == v && !n.IfMissing })
			if i < 0 {
				t.Errorf("%s %q %v: the command acts on %s, the host checked %+v", d.Verb, req.Args, req.Params, v, needs)
				continue
			}
			if acc.TreeIf != "" && a.Has(acc.TreeIf) && !needs[i].Tree {
				t.Errorf("%s %q %v: %s set, but the host checked %s alone, not the tree", d.Verb, req.Args, req.Params, acc.TreeIf, v)
			}
			parents := acc.ParentsIf != "" && a.Has(acc.ParentsIf)
			if dir := path.Dir(v); parents && v != "/" && dir != "/" &&
				!slices.Contains(needs, sdk.Need{Perm: acc.Perm, Path: dir, IfMissing: true}) {
				t.Errorf("%s %q %v: %s set, but the host does not check the folders above %s", d.Verb, req.Args, req.Params, acc.ParentsIf, v)
			}
		}
	}
}
