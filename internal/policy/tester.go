package policy

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestOptions control RunTests.
type TestOptions struct {
	// Dirs hold the modules under test and their *_test.rego files; the
	// default bundle is always loaded beside them.
	Dirs []string
	// Builtin also runs the default bundle's own tests (the only ones
	// when Dirs is empty).
	Builtin bool
	// Run keeps the tests whose data path matches this regular expression.
	Run string
	// Timeout bounds each test; 0 means 5s.
	Timeout time.Duration
}

// TestResult is one Rego test's outcome.
type TestResult struct {
	Package  string        `json:"package"` // data.org.acme_test
	Name     string        `json:"name"`    // test_…
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Pass     bool          `json:"pass"`
	Skip     bool          `json:"skip,omitempty"`
	Error    string        `json:"error,omitempty"` // an evaluation error, not a failed assertion
	Duration time.Duration `json:"duration"`
	Output   string        `json:"output,omitempty"` // print() output
}

// RunTests runs Rego unit tests (rules named test_*) as `opa test` does,
// with OPA's tester and the same compiler restrictions as evaluation.
func RunTests(ctx context.Context, opts TestOptions) ([]TestResult, error) {
	s, err := load(opts.Dirs, true)
	if err != nil {
		return nil, err
	}
	if !opts.Builtin {
		kept := s.files[:0]
		for _, f := range s.files {
			if !(f.test && f.root == 0) {
				kept = append(kept, f)
			}
		}
		s.files = kept
	}
	_, mods, err := s.compile(nil)
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	store := inmem.NewFromObject(s.data)
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Abort(ctx, txn)
	r := tester.NewRunner().
		SetCompiler(newCompiler()).
		SetStore(store).
		SetModules(mods).
		CapturePrintOutput(true).
		SetTimeout(timeout).
		Filter(opts.Run)
	ch, err := r.RunTests(ctx, txn)
	if err != nil {
		return nil, &LoadError{Problems: problemsOf(err, "")}
	}
	var out []TestResult
	for res := range ch {
		tr := TestResult{Package: res.Package, Name: res.Name, Pass: res.Pass(), Skip: res.Skip, Duration: res.Duration, Output: string(res.Output)}
		if res.Location != nil {
			tr.File, tr.Line = res.Location.File, res.Location.Row
		}
		if res.Error != nil {
			tr.Error = res.Error.Error()
			tr.Pass = false
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out, nil
}

// String is one line as `opa test` prints it.
func (t TestResult) String() string {
	status := "PASS"
	switch {
	case t.Skip:
		status = "SKIPPED"
	case t.Error != "":
		status = "ERROR: " + t.Error
	case !t.Pass:
		status = "FAIL"
	}
	return fmt.Sprintf("%s:%d: %s.%s: %s (%s)", t.File, t.Line, t.Package, t.Name, status, t.Duration.Round(time.Microsecond))
}
