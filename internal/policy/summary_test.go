package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// randomInput has n findings drawn from small pools, so that ids repeat
// across packages, groups gather several findings and severities come in
// the spellings feeds use.
func randomInput(r *rand.Rand, n int) *Input {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	in := &Input{Image: Image{Name: "registry.example.com/app:1"}}
	for range n {
		f := Finding{
			ID:       fmt.Sprintf("CVE-2024-%d", r.IntN(n+1)),
			Package:  PackageRef{Name: pick("openssl", "curl", "zlib"), Version: "1", Ecosystem: "deb"},
			Severity: pick("CRITICAL", "HIGH", "high", " Moderate ", "MEDIUM", "LOW", "", "weird"),
			State:    pick("", "", "fixed", "open", "not_affected", "will_not_fix"),
			KEV:      r.IntN(10) == 0,
			VEX:      VEX{Status: pick("", "", "", "not_affected", "affected", "fixed", "under_investigation")},
		}
		for range r.IntN(3) {
			f.Aliases = append(f.Aliases, fmt.Sprintf("GHSA-%d", r.IntN(n+1)))
		}
		if r.IntN(2) == 0 {
			f.Fixed = []string{"2"}
		}
		in.Findings = append(in.Findings, f)
	}
	return in
}

// compiledBundle compiles the default bundle alone for queries on its
// helpers.
func compiledBundle(t *testing.T) (*ast.Compiler, *set) {
	t.Helper()
	s, err := load(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	c := newCompiler()
	if _, _, err := s.compile(c); err != nil {
		t.Fatal(err)
	}
	return c, s
}

// The summary Go computes is the one the bundle computes in Rego for an
// input that arrives without one, so that a decision does not depend on
// who built the summary.
func TestSummaryMatchesRego(t *testing.T) {
	c, s := compiledBundle(t)
	pq, err := rego.New(rego.Query("data.stella.lib.summary"), rego.Compiler(c), rego.Store(inmem.NewFromObject(s.data))).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i, n := range []int{0, 1, 2, 5, 20, 60, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			in := randomInput(r, n)
			b, err := json.Marshal(in) // no summary: Rego computes it
			if err != nil {
				t.Fatal(err)
			}
			var raw any
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			rs, err := pq.Eval(context.Background(), rego.EvalInput(raw))
			if err != nil || len(rs) != 1 {
				t.Fatalf("eval: %v, %d results", err, len(rs))
			}
			gotJSON, _ := json.Marshal(rs[0].Expressions[0].Value)
			wantJSON, _ := json.Marshal(summarize(in.Findings))
			var got, want any
			_ = json.Unmarshal(gotJSON, &got)
			_ = json.Unmarshal(wantJSON, &want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("case %d: Rego summary\n%s\nGo summary\n%s", i, gotJSON, wantJSON)
			}
		})
	}
}

// Evaluate builds only the parts of the input the rules can read; the
// decision must be the one the whole input gives, whatever the rules.
func TestReadsInput(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		dirs  []string
		want  []string // nil: the whole input
	}{
		{name: "default bundle", want: []string{"image", "summary"}},
		{name: "organisation rules", dirs: []string{"testdata/org"}, want: []string{"findings", "image", "provenance", "sbom", "summary"}},
		{name: "through a helper package", files: map[string]string{
			"a.rego": "package a\n\nimport data.h\n\ndeny contains m if {\n\tsome m in h.names\n}\n",
			"h.rego": "package h\n\nnames := {sprintf(\"%s is old\", [f.package.name]) | some f in input.findings; f.epss > 0.5}\n\nunused := input.sbom.packages\n",
		}, want: []string{"findings", "image", "summary"}},
		{name: "through a function", files: map[string]string{
			"a.rego": "package a\n\nold(x) := x.provenance.dbAgeHours > 24 if true\n\nwarn contains \"old DB\" if old(input)\n",
		}},
		{name: "the whole input", files: map[string]string{
			"a.rego": "package a\n\ndeny contains m if {\n\tm := json.marshal(input)\n\tcontains(m, \"telnet\")\n}\n",
		}},
		{name: "a variable key", files: map[string]string{
			"a.rego": "package a\n\ndeny contains k if {\n\tsome k\n\tinput[k] == null\n}\n",
		}},
		{name: "the whole library document", files: map[string]string{
			"a.rego": "package a\n\nwarn contains \"keyed\" if {\n\tl := data.stella.lib\n\tcount(l._fallback_keyed) > 0\n}\n",
		}}, // the fallback, reached here, reads the input whole
		{name: "library findings", files: map[string]string{
			"a.rego": "package a\n\nimport data.stella.lib\n\nwarn contains f.id if {\n\tsome f in lib.findings\n\tf.epss > 0.9\n}\n",
		}, want: []string{"findings", "image", "summary"}},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dirs := c.dirs
			if c.files != nil {
				dir := t.TempDir()
				for name, src := range c.files {
					if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				dirs = []string{dir}
			}
			e := mustLoad(t, Options{Dirs: dirs})
			var got []string
			if e.reads != nil {
				got = slices.Sorted(maps.Keys(e.reads))
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("reads %v, want %v", got, c.want)
			}
			for range 20 {
				in := randomInput(r, 40)
				in.Findings[0].EPSS = 0.95
				in.Provenance.DBAgeHours = 30
				in.Normalize()
				lazy, err := e.Evaluate(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				whole, err := e.evaluateValue(context.Background(), in, in.value())
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(lazy, whole) {
					t.Fatalf("the parts read decide\n%+v\nthe whole input decides\n%+v", lazy, whole)
				}
			}
		})
	}
}

// The built-in rules give one reason per severity, worst first, citing
// every finding; Text names the first few.
func TestReasonsPerSeverity(t *testing.T) {
	e := mustLoad(t, Options{})
	var fs []Finding
	for i := range 8 {
		fs = append(fs, finding(fmt.Sprintf("CVE-2024-%04d", i), "openssl", SeverityHigh, "3.0.2"))
	}
	crit := finding("CVE-2023-0001", "curl", SeverityCritical, "8.0")
	kev := finding("CVE-2022-0001", "zlib", SeverityLow)
	kev.KEV = true
	fs = append(fs, crit, kev, crit) // crit twice: two packages, one id
	d, err := e.Evaluate(context.Background(), input("registry.example.com/app:1", fs...))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range d.Deny {
		got = append(got, r.Text())
	}
	want := []string{
		"vulnerabilities known to be exploited (CISA KEV): CVE-2022-0001",
		"CRITICAL vulnerabilities with a fix available: CVE-2023-0001",
		"HIGH vulnerabilities with a fix available: CVE-2024-0000, CVE-2024-0001, CVE-2024-0002, CVE-2024-0003, CVE-2024-0004 and 3 more",
	}
	if !slices.Equal(got, want) {
		t.Errorf("deny reasons\n%q\nwant\n%q", got, want)
	}
	if len(d.Warn) != 1 || d.Warn[0].Text() != "LOW vulnerabilities with no fix available: CVE-2022-0001" {
		t.Errorf("warn %+v", d.Warn)
	}
}

// FuzzEvaluateInput feeds hostile policy inputs (as `stella policy eval
// --input` reads them) to the engine with organisation rules that read
// every part: a decision or a clear error, never a panic, and the parts
// the default bundle reads decide as the whole input does.
func FuzzEvaluateInput(f *testing.F) {
	seed, _ := json.Marshal(syntheticInput(5))
	f.Add(seed)
	f.Add([]byte(`{"findings":[{"id":"CVE-1","severity":"high","fixed":["1"],"kev":true,"aliases":["GHSA-1"]}],"summary":{"groups":"forged"}}`))
	f.Add([]byte(`{"findings":null,"image":{"name":"docker.io/x:latest"}}`))
	base := mustLoad(f, Options{})
	org := mustLoad(f, Options{Dirs: []string{"testdata/org"}})
	f.Fuzz(func(t *testing.T, b []byte) {
		var in Input
		if json.Unmarshal(b, &in) != nil {
			return
		}
		in.Normalize()
		lazy, err := base.Evaluate(context.Background(), &in)
		if err != nil {
			t.Fatalf("default bundle: %v", err)
		}
		whole, err := base.evaluateValue(context.Background(), &in, in.value())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(lazy, whole) {
			t.Fatalf("the parts read decide\n%+v\nthe whole input decides\n%+v", lazy, whole)
		}
		if _, err := org.Evaluate(context.Background(), &in); err != nil && !strings.Contains(err.Error(), "policy evaluation") {
			t.Fatalf("organisation rules: unclear error %v", err)
		}
	})
}
