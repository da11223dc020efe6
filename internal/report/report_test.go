package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	_ "github.com/stella-scan/stella/internal/analyze/all"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/testutil"
)

func TestMain(m *testing.M) { matchtest.Main(m) }

var (
	scanMu  sync.Mutex
	results = map[string]*report.Result{}
)

var fixedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// result scans a fixture image once per test binary against the test DB
// (real feeds), with the VEX documents given.
func result(t *testing.T, img string, vexFiles ...string) *report.Result {
	t.Helper()
	scanMu.Lock()
	defer scanMu.Unlock()
	key := img + strings.Join(vexFiles, ",")
	if r, ok := results[key]; ok {
		return r
	}
	db := matchtest.Open(t)
	r, err := scan.Scan(context.Background(), "oci:"+filepath.Join(analyzetest.ImageDir(t, img), "oci"), scan.ScanOptions{
		DB: db, VEX: vexFiles, StellaVersion: "test", Now: func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	results[key] = r
	return r
}

func findingOf(r *report.Result, pkg, id string) *match.Finding {
	for i := range r.Findings {
		if r.Findings[i].Package.Name == pkg && r.Findings[i].Has(id) {
			return &r.Findings[i]
		}
	}
	return nil
}

func render(t *testing.T, r *report.Result, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.Write(&b, r, format, report.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func resultSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(testutil.RepoRoot(t), "api", "schema", "result.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("result.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("result.json")
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return s
}

// The native JSON of real scans satisfies api/schema/result.json, and a
// broken result does not.
func TestJSONSchema(t *testing.T) {
	s := resultSchema(t)
	for _, img := range []string{"debian-app", "debian-bullseye-old", "alpine-3.10-old"} {
		r := result(t, img)
		out := render(t, r, "json")
		sbomtest.Validate(t, s, out)
		var back report.Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatal(err)
		}
		if len(back.Findings) != len(r.Findings) || back.Summary.Vulnerable != r.Summary.Vulnerable || back.Provenance.DB.Path == "" {
			t.Errorf("%s: round trip lost data", img)
		}
	}
	// A finding without evidence or with an unknown state is refused.
	var m map[string]any
	if err := json.Unmarshal(render(t, result(t, "alpine-3.10-old"), "json"), &m); err != nil {
		t.Fatal(err)
	}
	f := m["findings"].([]any)[0].(map[string]any)
	f["state"] = "vulnerable-ish"
	delete(f, "evidence")
	bad, _ := json.Marshal(m)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if err := s.Validate(inst); err == nil {
		t.Error("schema accepts a finding without evidence and with an unknown state")
	}
}

// SARIF output is valid against the official SARIF 2.1.0 schema and has
// one rule per vulnerability and one result per finding; VEX not_affected
// becomes a suppression.
func TestSARIF(t *testing.T) {
	vexDoc := writeVEX(t)
	r := result(t, "debian-app", vexDoc)
	out := render(t, r, "sarif")
	sbomtest.Validate(t, sbomtest.Schema(t, "sarif-2.1.0.schema.json"), out)
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID       string `json:"ruleId"`
				Level        string `json:"level"`
				Suppressions []any  `json:"suppressions"`
				Locations    []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &log); err != nil {
		t.Fatal(err)
	}
	run := log.Runs[0]
	if len(run.Results) != len(r.Findings) {
		t.Errorf("%d results for %d findings", len(run.Results), len(r.Findings))
	}
	ids := map[string]bool{}
	for _, f := range r.Findings {
		ids[f.ID] = true
	}
	if len(run.Tool.Driver.Rules) != len(ids) {
		t.Errorf("%d rules for %d vulnerabilities", len(run.Tool.Driver.Rules), len(ids))
	}
	var sawMinimist, sawSuppressed bool
	for _, res := range run.Results {
		// minimist CVE-2021-44906 is CRITICAL (GHSA) -> error, at its package.json.
		if res.RuleID == "CVE-2021-44906" {
			sawMinimist = res.Level == "error" && res.Locations[0].PhysicalLocation.ArtifactLocation.URI == "app/node_modules/minimist/package.json"
		}
		if res.RuleID == "CVE-2021-23337" && len(res.Suppressions) == 1 {
			sawSuppressed = true
		}
	}
	if !sawMinimist || !sawSuppressed {
		t.Errorf("minimist result ok %v, lodash suppressed by VEX %v", sawMinimist, sawSuppressed)
	}
}

// writeVEX writes an OpenVEX document saying lodash 4.17.20 is not
// affected by CVE-2021-23337 (the template function is not reachable).
func writeVEX(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "lodash.openvex.json")
	doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.com/vex/1","author":"app team","timestamp":"2024-01-01T00:00:00Z","version":1,
	"statements":[{"vulnerability":{"name":"CVE-2021-23337"},"products":[{"@id":"pkg:npm/lodash@4.17.20"}],
	"status":"not_affected","justification":"vulnerable_code_not_in_execute_path","impact_statement":"template() is never called"}]}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// CycloneDX 1.6 with vulnerabilities: valid against the official schema;
// each vulnerability affects the bom-ref of its component.
func TestCycloneDX(t *testing.T) {
	r := result(t, "debian-app", writeVEX(t))
	out := render(t, r, "cyclonedx-json")
	sbomtest.Validate(t, sbomtest.Schema(t, "cyclonedx-bom-1.6.schema.json"), out)
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(out), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Vulnerabilities == nil {
		t.Fatalf("spec %v, vulnerabilities %v", bom.SpecVersion, bom.Vulnerabilities)
	}
	refs := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		refs[c.BOMRef] = c
	}
	found := map[string]bool{}
	for _, v := range *bom.Vulnerabilities {
		for _, a := range *v.Affects {
			c, ok := refs[a.Ref]
			if !ok {
				t.Errorf("%s affects unknown ref %s", v.ID, a.Ref)
				continue
			}
			found[v.ID+" "+c.Name+" "+c.Version] = true
			switch {
			case v.ID == "CVE-2021-44906":
				// GHSA-xvch-5gv4-984h: CRITICAL, fixed 1.2.6.
				if (*v.Ratings)[0].Severity != cdx.SeverityCritical || !strings.Contains(v.Recommendation, "1.2.6") {
					t.Errorf("minimist: ratings %+v recommendation %q", *v.Ratings, v.Recommendation)
				}
			case v.ID == "CVE-2021-23337":
				if v.Analysis == nil || v.Analysis.State != cdx.IASNotAffected || v.Analysis.Justification != cdx.IAJCodeNotReachable {
					t.Errorf("lodash VEX analysis %+v", v.Analysis)
				}
			}
		}
	}
	for _, want := range []string{"CVE-2021-44906 minimist 1.2.5", "CVE-2021-23337 lodash 4.17.20", "CVE-2023-39321 stdlib go1.21.0", "CVE-2022-32149 golang.org/x/text v0.3.7"} {
		if !found[want] {
			t.Errorf("missing vulnerability %s", want)
		}
	}
}

// SPDX 2.3: valid against the official schema; findings are advisory
// references of their package.
func TestSPDX(t *testing.T) {
	r := result(t, "debian-bullseye-old")
	out := render(t, r, "spdx-json")
	sbomtest.Validate(t, sbomtest.Schema(t, "spdx-2.3.schema.json"), out)
	var doc struct {
		SPDXVersion string `json:"spdxVersion"`
		Packages    []struct {
			Name         string `json:"name"`
			ExternalRefs []struct {
				Category string `json:"referenceCategory"`
				Type     string `json:"referenceType"`
				Locator  string `json:"referenceLocator"`
				Comment  string `json:"comment"`
			} `json:"externalRefs"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	ok := false
	for _, p := range doc.Packages {
		for _, e := range p.ExternalRefs {
			if p.Name == "libssl1.1" && e.Type == "advisory" && e.Locator == "https://nvd.nist.gov/vuln/detail/CVE-2023-0286" &&
				strings.Contains(e.Comment, "fixed in 1.1.1n-0+deb11u4") {
				ok = true
			}
		}
	}
	if doc.SPDXVersion != "SPDX-2.3" || !ok {
		t.Errorf("version %s; libssl1.1 CVE-2023-0286 advisory reference found: %v", doc.SPDXVersion, ok)
	}
}

// The table groups by package, most severe package first, and shows the
// fixed versions.
func TestTable(t *testing.T) {
	out := string(render(t, result(t, "alpine-3.10-old"), "table"))
	lines := strings.Split(out, "\n")
	var rows []string
	for _, l := range lines {
		if strings.HasPrefix(l, "PACKAGE") || (len(rows) > 0 && l != "") {
			rows = append(rows, l)
		}
	}
	if len(rows) < 2 {
		t.Fatalf("no table:\n%s", out)
	}
	// Each package name appears once, on its first row.
	seen := map[string]int{}
	for _, r := range rows[1:] {
		if f := strings.Fields(r); len(f) > 0 && !strings.HasPrefix(f[0], "CVE-") {
			seen[f[0]]++
		}
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("package %s starts %d groups", name, n)
		}
	}
	// musl 1.1.22-r2 row: CVE-2019-14697 fixed in 1.1.22-r3.
	if !strings.Contains(out, "CVE-2019-14697") || !strings.Contains(out, "1.1.22-r3") {
		t.Errorf("musl finding or its fixed version missing:\n%s", out)
	}
	if !strings.Contains(lines[0], "Target:") || !strings.Contains(out, "Packages: 28;") {
		t.Errorf("header:\n%s", strings.Join(lines[:5], "\n"))
	}
}

// The HTML page is self-contained (no script, stylesheet link or image)
// and escapes what documents say.
func TestHTML(t *testing.T) {
	r := *result(t, "debian-app")
	fs := append([]match.Finding(nil), r.Findings...)
	fs[0].Summary = `<script>alert(1)</script>`
	r.Findings = fs
	out := string(render(t, &r, "html"))
	for _, bad := range []string{"<script", "<link", "<img", "src=", "@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("HTML contains %q", bad)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;") || !strings.Contains(out, "CVE-2021-44906") || !strings.Contains(out, "GHSA-xvch-5gv4-984h") {
		t.Error("HTML misses the escaped summary or the findings")
	}
}

func TestFilterAndFailOn(t *testing.T) {
	base := result(t, "debian-app")
	r := *base
	r.Findings = append([]match.Finding(nil), base.Findings...)
	report.Filter{Severities: []string{"CRITICAL"}}.Apply(&r)
	// Only minimist's CVE-2021-44906 is CRITICAL in debian-app.
	if len(r.Findings) != 1 || r.Findings[0].ID != "CVE-2021-44906" || r.Summary.BySeverity["CRITICAL"] != 1 || r.Summary.BySeverity["HIGH"] != 0 {
		t.Errorf("critical filter: %d findings %+v", len(r.Findings), r.Summary)
	}
	if len(base.FailsOn("critical")) != 1 || len(base.FailsOn("high")) < 8 {
		t.Errorf("fail-on critical %d, high %d", len(base.FailsOn("critical")), len(base.FailsOn("high")))
	}
	// alpine-3.10-old: every finding has a fixed version (secdb lists only fixes).
	a := *result(t, "alpine-3.10-old")
	a.Findings = append([]match.Finding(nil), a.Findings...)
	n := len(a.Findings)
	report.Filter{IgnoreUnfixed: true}.Apply(&a)
	if len(a.Findings) != n {
		t.Errorf("ignore-unfixed dropped fixable findings: %d -> %d", n, len(a.Findings))
	}
	if sevs, bad := report.ParseSeverities("critical, High"); bad != "" || len(sevs) != 2 {
		t.Errorf("ParseSeverities: %v %q", sevs, bad)
	}
	if _, bad := report.ParseSeverities("critical,severe"); bad != "SEVERE" {
		t.Errorf("ParseSeverities accepted %q", bad)
	}
}
