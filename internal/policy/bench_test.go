package policy

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// syntheticInput has n findings spread over severities, fix states, KEV
// and VEX, and as many packages: the shape of a large real scan result.
func syntheticInput(n int) *Input {
	sev := []string{SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow, SeverityUnknown}
	in := &Input{Image: Image{Name: "registry.example.com/team/app:1.0", Digest: "sha256:" + fmt.Sprintf("%064d", 1)}}
	for i := range n {
		pkg := fmt.Sprintf("pkg-%04d", i%300)
		f := Finding{
			ID:        fmt.Sprintf("CVE-2024-%05d", i),
			Aliases:   []string{fmt.Sprintf("GHSA-%04d-xxxx-yyyy", i)},
			Package:   PackageRef{Name: pkg, Version: "1.0.0", Ecosystem: "deb", PURL: "pkg:deb/debian/" + pkg + "@1.0.0"},
			Installed: "1.0.0",
			Severity:  sev[i%len(sev)],
			CVSS:      CVSS{Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", Version: "3.1"},
			EPSS:      0.0001 * float64(i%100),
			KEV:       i%97 == 0,
		}
		if i%2 == 0 {
			f.Fixed = []string{"1.0.1"}
		}
		if i%13 == 0 {
			f.VEX = VEX{Status: "not_affected", Justification: "vulnerable_code_not_in_execute_path"}
		}
		in.Findings = append(in.Findings, f)
	}
	for i := range 300 {
		in.SBOM.Packages = append(in.SBOM.Packages, Package{Name: fmt.Sprintf("pkg-%04d", i), Version: "1.0.0", Ecosystem: "deb", PURL: fmt.Sprintf("pkg:deb/debian/pkg-%04d@1.0.0", i), Layer: "sha256:" + fmt.Sprintf("%064d", 2)})
	}
	in.Normalize()
	return in
}

// BenchmarkEvaluate1000 is the budget of DESIGN.md section 6: one
// decision over 1,000 findings in under 5 ms, by the default bundle.
func BenchmarkEvaluate1000(b *testing.B) {
	benchmarkEvaluate(b, nil)
}

// BenchmarkEvaluate1000OrgRules adds the organisation rules of
// testdata/org, one of which visits every finding: the whole input is
// built and each finding passes through Rego.
func BenchmarkEvaluate1000OrgRules(b *testing.B) {
	benchmarkEvaluate(b, []string{"testdata/org"})
}

func benchmarkEvaluate(b *testing.B, dirs []string) {
	e, err := Load(context.Background(), Options{Dirs: dirs, Timeout: time.Minute}) // a loaded CI machine must not fail the budget run on the deadline
	if err != nil {
		b.Fatal(err)
	}
	in := syntheticInput(1000)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		if _, err := e.Evaluate(ctx, in); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// CPU time per decision, as well as wall time: on a shared machine
	// the wall time also counts other processes' turns.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
}

// cpuTime is the process's user+system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkEvaluate1000Phases splits a decision's cost: building the OPA
// value of the parts of the input the rules read (and, for comparison,
// of the whole input, as an organisation rule over every finding needs),
// evaluating the rules, and reading the decision.
func BenchmarkEvaluate1000Phases(b *testing.B) {
	e, err := Load(context.Background(), Options{Timeout: time.Minute}) // a loaded CI machine must not fail the budget run on the deadline
	if err != nil {
		b.Fatal(err)
	}
	in := syntheticInput(1000)
	v := in.valueOf(e.reads)
	b.Logf("the default bundle reads input parts %v", e.reads)
	rs, err := e.query.Eval(context.Background(), rego.EvalParsedInput(v), rego.EvalGenerateJSON(rawValue))
	if err != nil {
		b.Fatal(err)
	}
	doc := rs[0].Expressions[0].Value.(ast.Value)
	phases := []struct {
		name string
		f    func()
	}{
		{"input", func() { in.valueOf(e.reads) }},
		{"input-whole", func() { in.value() }},
		{"rules", func() {
			if _, err := e.query.Eval(context.Background(), rego.EvalParsedInput(v), rego.EvalGenerateJSON(rawValue)); err != nil {
				b.Fatal(err)
			}
		}},
		{"decision", func() {
			if _, err := decodeDecision(doc); err != nil {
				b.Fatal(err)
			}
		}},
	}
	for _, p := range phases {
		b.Run(p.name, func(b *testing.B) {
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				p.f()
				n++
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
		})
	}
}

// BenchmarkSummaryInRego1000 is the cost of an input sent to an OPA
// server without its summary: the bundle computes it from the findings.
func BenchmarkSummaryInRego1000(b *testing.B) {
	e, err := Load(context.Background(), Options{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	in := syntheticInput(1000)
	bare := *in
	bare.Summary = nil
	v, err := bare.jsonValueAsIs()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.evaluateValue(context.Background(), in, v); err != nil {
			b.Fatal(err)
		}
	}
}
