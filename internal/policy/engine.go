// Package policy decides whether a scanned image may run. It embeds OPA:
// the default bundle (bundle/) and organisation rules (--policy DIR) are
// parsed and compiled once at load, where every error is reported with
// file:line, and the prepared query is evaluated for each scan result or
// admission request with a deadline. Policies cannot reach the network or
// the environment: http.send, net.lookup_ip_addr and opa.runtime are
// refused at compile time.
//
// As in conftest, the deny and warn rules (and deny_*, warn_*) of every
// loaded package count. The decision (data.stella.decision.result) holds
// the verdict, the reasons citing findings, and what waivers set aside.
// The same bundle, written by WriteBundle, gives the same decisions from
// an OPA server (Remote).
package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown/print"
)

// DefaultTimeout bounds one evaluation.
const DefaultTimeout = 2 * time.Second

// unsafeBuiltins are refused in every module: they reach the network or
// reveal the environment, or, for strings.render_template, run a Go
// template whose nested ranges and recursive templates can produce an
// output of any size in one call that no deadline interrupts (see
// limits.go for the built-ins that are bounded instead).
var unsafeBuiltins = map[string]struct{}{
	ast.HTTPSend.Name:        {},
	ast.NetLookupIPAddr.Name: {},
	ast.OPARuntime.Name:      {},
	ast.RenderTemplate.Name:  {},
}

// Options control Load.
type Options struct {
	// Dirs are organisation policy directories: *.rego modules and JSON or
	// YAML data, loaded with the default bundle.
	Dirs []string
	// Timeout bounds one evaluation; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock waivers are judged by; nil means time.Now.
	Now func() time.Time
	// MaxMemory bounds the heap growth during one evaluation; 0 means
	// DefaultMaxMemory.
	MaxMemory int64
}

// Engine evaluates the prepared decision query in-process. It is safe for
// concurrent use.
type Engine struct {
	set       *set
	generated string // source of data.stella.collected
	query     rego.PreparedEvalQuery
	reads     map[string]bool // the input's parts the rules read; nil: all
	timeout   time.Duration
	maxMemory int64
	now       func() time.Time
}

// capabilities are OPA's, with no network host allowed to http.send even
// if it were let through.
func capabilities() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	c.AllowNet = []string{}
	return c
}

func newCompiler() *ast.Compiler {
	return ast.NewCompiler().
		WithCapabilities(capabilities()).
		WithUnsafeBuiltins(unsafeBuiltins).
		WithEnablePrintStatements(true).
		WithDefaultRegoVersion(ast.RegoV1)
}

// compile parses the generated module and compiles everything; errors
// carry file:line.
func (s *set) compile(compiler *ast.Compiler) (string, map[string]*ast.Module, error) {
	genName, gen := s.collected()
	mods := make(map[string]*ast.Module, len(s.files)+1)
	for _, f := range s.files {
		mods[f.name] = f.module
	}
	gm, err := ast.ParseModuleWithOpts(genName, gen, ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return "", nil, &LoadError{Problems: problemsOf(err, genName)}
	}
	mods[genName] = gm
	if compiler == nil {
		return gen, mods, nil
	}
	if compiler.Compile(mods); compiler.Failed() {
		return "", nil, &LoadError{Problems: problemsOf(compiler.Errors, "")}
	}
	return gen, mods, nil
}

// Load reads the default bundle and opts.Dirs, compiles them and prepares
// the decision query. A *LoadError lists every problem with file:line.
func Load(ctx context.Context, opts Options) (*Engine, error) {
	s, err := load(opts.Dirs, false)
	if err != nil {
		return nil, err
	}
	compiler := newCompiler()
	gen, _, err := s.compile(compiler)
	if err != nil {
		return nil, err
	}
	r := rego.New(
		rego.Query("data."+pathToRef(DecisionPath)),
		rego.Compiler(compiler),
		rego.Store(inmem.NewFromObject(s.data)),
		rego.UnsafeBuiltins(unsafeBuiltins),
		rego.EnablePrintStatements(true),
		rego.PrintHook(slogPrinter{}),
	)
	pq, err := r.PrepareForEval(ctx)
	if err != nil {
		return nil, &LoadError{Problems: problemsOf(err, "")}
	}
	e := &Engine{set: s, generated: gen, query: pq, reads: readsInput(compiler), timeout: opts.Timeout, now: opts.Now}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
	}
	if e.maxMemory = opts.MaxMemory; e.maxMemory <= 0 {
		e.maxMemory = DefaultMaxMemory
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Check loads and compiles dirs with the default bundle, tests included,
// and reports every problem; it is `stella policy check`.
func Check(ctx context.Context, dirs []string) error {
	s, err := load(dirs, true)
	if err != nil {
		return err
	}
	_, _, err = s.compile(newCompiler())
	return err
}

// Evaluate decides one input within the engine's timeout.
func (e *Engine) Evaluate(ctx context.Context, in *Input) (*Decision, error) {
	return e.evaluateValue(ctx, in, in.valueOf(e.reads))
}

// evaluateValue decides the OPA value v of input in.
func (e *Engine) evaluateValue(ctx context.Context, in *Input, v ast.Value) (*Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	ctx, stop := watchHeap(ctx, e.maxMemory)
	defer stop()
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(v), rego.EvalTime(e.now()), rego.EvalGenerateJSON(rawValue))
	if err != nil {
		if cause := context.Cause(ctx); errors.Is(cause, ErrMemory) {
			return nil, fmt.Errorf("policy evaluation for %s stopped: %w", in.Image.Name, cause)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("policy evaluation for %s stopped after %s (a rule does not finish in time; check loops over large ranges): %w", in.Image.Name, e.timeout, ctx.Err())
		}
		return nil, fmt.Errorf("policy evaluation for %s: %w", in.Image.Name, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("policy evaluation for %s: data.stella.decision.result is undefined (a rule conflict or an error in a helper)", in.Image.Name)
	}
	doc, ok := rs[0].Expressions[0].Value.(ast.Value)
	if !ok {
		return nil, fmt.Errorf("policy decision for %s: unexpected %T", in.Image.Name, rs[0].Expressions[0].Value)
	}
	d, err := decodeDecision(doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Image.Name, err)
	}
	return d, nil
}

// The bundle's summary (libSummary) reads input.findings only through its
// fallback, for an input without a summary, which an input Stella builds
// never is: that one dependency is not followed. Any other way to the
// fallback (a rule naming it, or all of data.stella.lib) is.
var (
	libSummary      = ast.MustParseRef("data.stella.lib.summary")
	summaryFallback = ast.MustParseRef("data.stella.lib._summary_of_findings")
)

// readsInput returns the top-level keys of input (image, findings…) that
// the rules the decision depends on can read, or nil when one of them
// reads the input whole or through a variable key. Evaluate builds only
// those parts: a default decision over a thousand findings reads the
// summary, not the findings (BenchmarkEvaluate1000). The walk follows the
// compiler's rule dependency graph from the decision, so an organisation
// rule that reads input.findings brings them back.
func readsInput(c *ast.Compiler) map[string]bool {
	reads := map[string]bool{}
	seen := map[*ast.Rule]bool{}
	todo := c.GetRules(ast.MustParseRef("data." + pathToRef(DecisionPath)))
	for len(todo) > 0 {
		r := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if seen[r] {
			continue
		}
		seen[r] = true
		if !inputParts(r, reads) {
			return nil
		}
		if r.Else != nil {
			todo = append(todo, r.Else)
		}
		fromSummary := r.Path().Equal(libSummary)
		for dep := range c.Graph.Dependencies(r) {
			if d, ok := dep.(*ast.Rule); ok && !(fromSummary && d.Path().Equal(summaryFallback)) {
				todo = append(todo, d)
			}
		}
	}
	return reads
}

// inputParts adds to reads the input keys rule r reads; false when r reads
// the input whole or through a variable key.
func inputParts(r *ast.Rule, reads map[string]bool) bool {
	whole := false
	var vis *ast.GenericVisitor
	vis = ast.NewGenericVisitor(func(x any) bool {
		if whole {
			return true
		}
		switch x := x.(type) {
		case ast.Ref:
			if !x[0].Equal(ast.InputRootDocument) {
				return false
			}
			k, ok := ast.String(""), len(x) > 1
			if ok {
				k, ok = x[1].Value.(ast.String)
			}
			if !ok {
				whole = true
				return true
			}
			reads[string(k)] = true
			for _, t := range x[2:] {
				vis.Walk(t)
			}
			return true
		case ast.Var:
			whole = x.Equal(ast.InputRootDocument.Value)
		}
		return false
	})
	vis.Walk(r)
	return !whole
}

// rawValue keeps the evaluated value as it is: decodeDecision reads it
// without a conversion to Go maps and back.
func rawValue(t *ast.Term, _ *rego.EvalContext) (any, error) { return t.Value, nil }

// sortReasons orders reasons by package, cited finding and rule, and the
// built-in rules' reasons by severity, worst first (a KEV reason, which
// has none, before them).
func sortReasons(rs []Reason) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := &rs[i], &rs[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.Finding != b.Finding {
			return a.Finding < b.Finding
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if ra, rb := severityRank(a), severityRank(b); ra != rb {
			return ra > rb
		}
		if c := slices.Compare(a.Findings, b.Findings); c != 0 {
			return c < 0
		}
		return a.Msg < b.Msg
	})
}

var severityRanks = map[string]int{SeverityUnknown: 1, SeverityLow: 2, SeverityMedium: 3, SeverityHigh: 4, SeverityCritical: 5}

// severityRank ranks a reason by the severity in its details, from 1
// (UNKNOWN) to 5 (CRITICAL); a reason without one ranks 6, first.
func severityRank(r *Reason) int {
	s, _ := r.Details["severity"].(string)
	if rank, ok := severityRanks[s]; ok {
		return rank
	}
	return 6
}

// jsonValue converts the input through JSON, as an OPA server does; the
// tests check value() against it.
func (in *Input) jsonValue() (ast.Value, error) {
	withSummary := *in
	withSummary.Summary = in.summary()
	return withSummary.jsonValueAsIs()
}

// jsonValueAsIs converts the input through JSON with its summary or
// without, as it is.
func (in *Input) jsonValueAsIs() (ast.Value, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	return ast.ValueFromReader(bytes.NewReader(b))
}

// pathToRef turns a slash path into a dotted ref.
func pathToRef(p string) string {
	out := []byte(p)
	for i, c := range out {
		if c == '/' {
			out[i] = '.'
		}
	}
	return string(out)
}

// slogPrinter sends Rego print() output to the debug log.
type slogPrinter struct{}

func (slogPrinter) Print(pctx print.Context, msg string) error {
	loc := ""
	if pctx.Location != nil {
		loc = fmt.Sprintf("%s:%d", pctx.Location.File, pctx.Location.Row)
	}
	slog.Debug("policy print", "at", loc, "msg", msg)
	return nil
}

// IsLoadError reports whether err is a policy that failed to load.
func IsLoadError(err error) bool {
	var le *LoadError
	return errors.As(err, &le)
}
