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
// reveal the environment.
var unsafeBuiltins = map[string]struct{}{
	ast.HTTPSend.Name:        {},
	ast.NetLookupIPAddr.Name: {},
	ast.OPARuntime.Name:      {},
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
}

// Engine evaluates the prepared decision query in-process. It is safe for
// concurrent use.
type Engine struct {
	set       *set
	generated string // source of data.stella.collected
	query     rego.PreparedEvalQuery
	timeout   time.Duration
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
	e := &Engine{set: s, generated: gen, query: pq, timeout: opts.Timeout, now: opts.Now}
	if e.timeout <= 0 {
		e.timeout = DefaultTimeout
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
	v := in.value()
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(v), rego.EvalTime(e.now()), rego.EvalGenerateJSON(rawValue))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("policy evaluation for %s stopped after %s (a rule does not finish in time; check loops over large ranges): %w", in.Image.Name, e.timeout, ctx.Err())
		}
		return nil, fmt.Errorf("policy evaluation for %s: %w", in.Image.Name, err)
	}
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return nil, fmt.Errorf("policy evaluation for %s: data.stella.decision.result is undefined (a rule conflict or an error in a helper)", in.Image.Name)
	}
	v, ok := rs[0].Expressions[0].Value.(ast.Value)
	if !ok {
		return nil, fmt.Errorf("policy decision for %s: unexpected %T", in.Image.Name, rs[0].Expressions[0].Value)
	}
	d, err := decodeDecision(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in.Image.Name, err)
	}
	return d, nil
}

// rawValue keeps the evaluated value as it is: decodeDecision reads it
// without a conversion to Go maps and back.
func rawValue(t *ast.Term, _ *rego.EvalContext) (any, error) { return t.Value, nil }

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
		return a.Msg < b.Msg
	})
}

// jsonValue converts the input through JSON, as an OPA server does; the
// tests check value() against it.
func (in *Input) jsonValue() (ast.Value, error) {
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
