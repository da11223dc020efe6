package policy

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// builtinFS is the default bundle: the rules, the decision, the helpers
// and the default thresholds, with their Rego unit tests.
//
//go:embed bundle
var builtinFS embed.FS

// BuiltinFS returns the default bundle's files, rooted at the bundle.
func BuiltinFS() fs.FS {
	sub, err := fs.Sub(builtinFS, "bundle")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	return sub
}

// builtinPrefix marks the default bundle's files in error messages.
const builtinPrefix = "builtin:"

// Limits on a policy directory: it is untrusted input.
const (
	maxPolicyFile  = 8 << 20
	maxPolicyTotal = 64 << 20
	maxPolicyFiles = 10000
)

// Packages reserved for the default bundle and the generated module.
var reserved = []string{"stella.lib", "stella.builtin", "stella.decision", "stella.collected", "stella.defaults"}

// file is one loaded policy file.
type file struct {
	name   string // as shown in errors: a path, or builtin:stella/lib/lib.rego
	rel    string // slash path inside its root
	root   int    // 0 for the default bundle, i for the i-th directory
	raw    []byte
	module *ast.Module
	test   bool
}

// set is everything loaded: modules, their sources and the merged data.
type set struct {
	files []*file
	data  map[string]any
}

// Problem is one error at a place in a policy file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Col     int    `json:"col,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Message)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	case p.File != "":
		return fmt.Sprintf("%s: %s", p.File, p.Message)
	}
	return p.Message
}

// LoadError lists what is wrong with a set of policies: parse and compile
// errors with file:line:col, unreadable data, reserved packages. A policy
// that fails here never reaches an admission request.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	lines = append(lines, fmt.Sprintf("policy: %d error(s)", len(e.Problems)))
	for _, p := range e.Problems {
		lines = append(lines, "  "+p.String())
	}
	return strings.Join(lines, "\n")
}

// problemsOf turns OPA's errors into problems with their locations.
func problemsOf(err error, fallback string) []Problem {
	var aerrs ast.Errors
	if errors.As(err, &aerrs) {
		out := make([]Problem, 0, len(aerrs))
		for _, e := range aerrs {
			p := Problem{File: fallback, Message: e.Code + ": " + e.Message}
			if e.Location != nil {
				if e.Location.File != "" {
					p.File = e.Location.File
				}
				p.Line, p.Col = e.Location.Row, e.Location.Col
			}
			out = append(out, p)
		}
		return out
	}
	var aerr *ast.Error
	if errors.As(err, &aerr) {
		return problemsOf(ast.Errors{aerr}, fallback)
	}
	return []Problem{{File: fallback, Message: err.Error()}}
}

// load reads the default bundle and every directory. withTests keeps
// *_test.rego modules (for `stella policy test`); otherwise they are left
// out of evaluation.
func load(dirs []string, withTests bool) (*set, error) {
	s := &set{data: map[string]any{}}
	var probs []Problem
	probs = append(probs, s.loadFS(BuiltinFS(), builtinPrefix, 0, withTests)...)
	for i, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			probs = append(probs, Problem{File: d, Message: err.Error()})
			continue
		}
		if !st.IsDir() {
			probs = append(probs, Problem{File: d, Message: "not a directory: --policy takes a directory of .rego, .json and .yaml files"})
			continue
		}
		probs = append(probs, s.loadFS(os.DirFS(d), d, i+1, withTests)...)
	}
	probs = append(probs, s.checkReserved()...)
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}
	return s, nil
}

// loadFS walks one root. Hidden files and directories (.git, .manifest)
// and symbolic links are skipped; sizes are bounded.
func (s *set) loadFS(fsys fs.FS, label string, root int, withTests bool) []Problem {
	var probs []Problem
	var total int64
	count := 0
	display := func(rel string) string {
		if root == 0 {
			return label + rel
		}
		return filepath.Join(label, filepath.FromSlash(rel))
	}
	err := fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, Problem{File: display(rel), Message: err.Error()})
			return nil
		}
		if rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || !d.Type().IsRegular() {
			slog.Warn("policy: skipping a file that is not a regular file", "file", display(rel))
			return nil
		}
		ext := strings.ToLower(path.Ext(rel))
		if ext != ".rego" && ext != ".json" && ext != ".yaml" && ext != ".yml" {
			return nil
		}
		isTest := ext == ".rego" && strings.HasSuffix(rel, "_test.rego")
		if isTest && !withTests {
			return nil
		}
		count++
		if count > maxPolicyFiles {
			return fmt.Errorf("more than %d policy files", maxPolicyFiles)
		}
		info, err := d.Info()
		if err != nil {
			probs = append(probs, Problem{File: display(rel), Message: err.Error()})
			return nil
		}
		if info.Size() > maxPolicyFile {
			probs = append(probs, Problem{File: display(rel), Message: fmt.Sprintf("%d bytes: larger than the %d-byte limit for one policy file", info.Size(), maxPolicyFile)})
			return nil
		}
		total += info.Size()
		if total > maxPolicyTotal {
			return fmt.Errorf("policy files add up to more than %d bytes", maxPolicyTotal)
		}
		raw, err := fs.ReadFile(fsys, rel)
		if err != nil {
			probs = append(probs, Problem{File: display(rel), Message: err.Error()})
			return nil
		}
		f := &file{name: display(rel), rel: rel, root: root, raw: raw, test: isTest}
		if ext == ".rego" {
			m, err := ast.ParseModuleWithOpts(f.name, string(raw), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
			if err != nil {
				probs = append(probs, problemsOf(err, f.name)...)
				return nil
			}
			if m == nil {
				probs = append(probs, Problem{File: f.name, Message: "empty module: a .rego file needs a package declaration"})
				return nil
			}
			f.module = m
			s.files = append(s.files, f)
			return nil
		}
		var doc any
		unmarshal := util.Unmarshal // YAML, and JSON as YAML's subset
		if ext == ".json" {
			unmarshal = util.UnmarshalJSON // errors with JSON's offsets
		}
		if err := unmarshal(raw, &doc); err != nil {
			probs = append(probs, Problem{File: f.name, Message: "data: " + err.Error()})
			return nil
		}
		if doc == nil { // an empty YAML file
			return nil
		}
		if err := s.mergeData(path.Dir(rel), doc); err != nil {
			probs = append(probs, Problem{File: f.name, Message: err.Error()})
		}
		return nil
	})
	if err != nil {
		probs = append(probs, Problem{File: label, Message: err.Error()})
	}
	return probs
}

// mergeData places a data document at the directory it came from, as
// OPA's loader does (a/b/x.yaml lands at data.a.b), and merges it.
func (s *set) mergeData(dir string, doc any) error {
	var prefix []string
	if dir != "." {
		prefix = strings.Split(dir, "/")
	}
	if len(prefix) == 0 {
		obj, ok := doc.(map[string]any)
		if !ok {
			return fmt.Errorf("data: a file at the top of a policy directory must hold an object, not %T", doc)
		}
		return mergeInto(s.data, obj, nil)
	}
	for i := len(prefix) - 1; i >= 0; i-- {
		doc = map[string]any{prefix[i]: doc}
	}
	return mergeInto(s.data, doc.(map[string]any), nil)
}

// mergeInto merges src into dst; two values at the same path that are not
// both objects are a conflict.
func mergeInto(dst, src map[string]any, at []string) error {
	for k, v := range src {
		here := append(append([]string{}, at...), k)
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		om, ok1 := old.(map[string]any)
		nm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 {
			return fmt.Errorf("data: data.%s is defined by two files; keep one", strings.Join(here, "."))
		}
		if err := mergeInto(om, nm, here); err != nil {
			return err
		}
	}
	return nil
}

// checkReserved refuses user modules in the default bundle's packages and
// user data over its defaults.
func (s *set) checkReserved() []Problem {
	var probs []Problem
	for _, f := range s.files {
		if f.root == 0 || f.test {
			continue
		}
		pkg := packageName(f.module)
		for _, r := range reserved {
			if pkg == r || strings.HasPrefix(pkg, r+".") {
				probs = append(probs, Problem{File: f.name, Line: f.module.Package.Location.Row, Message: fmt.Sprintf("package %s is reserved for Stella's default bundle; choose another package name", pkg)})
			}
		}
	}
	return probs
}

// packageName is the package path without "data.", e.g. org.acme.
func packageName(m *ast.Module) string {
	return strings.TrimPrefix(m.Package.Path.String(), "data.")
}

// ruleKinds are the rule names that count, as in conftest: deny and warn,
// and any deny_… or warn_… rule.
func ruleLevel(name string) string {
	switch {
	case name == "deny" || strings.HasPrefix(name, "deny_"):
		return "deny"
	case name == "warn" || strings.HasPrefix(name, "warn_"):
		return "warn"
	}
	return ""
}

// collected generates data.stella.collected: its deny and warn objects
// map "<package>.<rule>" to that rule's messages, for every deny and warn
// rule of the evaluation modules, so that any package's deny counts
// without the decision walking all of data, and without copying a message.
func (s *set) collected() (name string, src string) {
	type target struct{ pkg, rule, ref string }
	seen := map[string]target{}
	for _, f := range s.files {
		if f.test {
			continue
		}
		pkg := packageName(f.module)
		if pkg == "stella.decision" || pkg == "stella.collected" || pkg == "stella.lib" {
			continue
		}
		for _, r := range f.module.Rules {
			ref := r.Head.Ref()
			if len(ref) != 1 {
				continue
			}
			v, ok := ref[0].Value.(ast.Var)
			if !ok || ruleLevel(string(v)) == "" {
				continue
			}
			full := f.module.Package.Path.Append(ast.StringTerm(string(v)))
			seen[full.String()] = target{pkg: pkg, rule: string(v), ref: full.String()}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Generated by Stella at load time: every loaded package's deny and warn rules.\npackage stella.collected\n\n")
	has := map[string]bool{}
	for _, k := range keys {
		t := seen[k]
		level := ruleLevel(t.rule)
		has[level] = true
		fmt.Fprintf(&b, "%s[%s] := x if {\n\tx := data.stella.lib.as_list(%s)\n\tcount(x) > 0\n}\n\n",
			level, quote(t.pkg+"."+t.rule), t.ref)
	}
	for _, level := range []string{"deny", "warn"} {
		if !has[level] {
			fmt.Fprintf(&b, "%s := {}\n\n", level)
		}
	}
	return builtinPrefix + "stella/collected/collected.rego", b.String()
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
