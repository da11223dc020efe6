package policy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/stella-scan/stella/internal/sbom"
)

func mustLoad(t testing.TB, opts Options) *Engine {
	t.Helper()
	e, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatalf("load %v: %v", opts.Dirs, err)
	}
	return e
}

// finding is a finding with the fields the rules look at.
func finding(id, pkg, severity string, fixed ...string) Finding {
	return Finding{ID: id, Package: PackageRef{Name: pkg, Version: "1.0", Ecosystem: "deb"}, Installed: "1.0", Severity: severity, Fixed: fixed}
}

func input(image string, fs ...Finding) *Input {
	in := &Input{Image: Image{Name: image}, Findings: fs}
	in.Normalize()
	return in
}

func policies(rs []Reason) []string {
	var out []string
	for _, r := range rs {
		cites := r.Cites()
		if len(cites) == 0 {
			out = append(out, r.Policy+"."+r.Rule+":")
		}
		for _, id := range cites {
			out = append(out, r.Policy+"."+r.Rule+":"+id)
		}
	}
	return out
}

func TestDefaultBundle(t *testing.T) {
	e := mustLoad(t, Options{})
	kev := finding("CVE-2024-0003", "curl", SeverityLow)
	kev.KEV = true
	vex := finding("CVE-2024-0004", "zlib", SeverityCritical, "1.1")
	vex.VEX = VEX{Status: "not_affected", Justification: "vulnerable_code_not_present"}
	cases := []struct {
		name    string
		in      *Input
		verdict string
		deny    []string
		warn    []string
	}{
		{"no findings", input("r.test/app:1"), VerdictPass, nil, nil},
		{"critical with fix", input("r.test/app:1", finding("CVE-2024-0001", "openssl", SeverityCritical, "3.0.2")), VerdictFail,
			[]string{"stella.builtin.deny:CVE-2024-0001"}, nil},
		{"high with fix", input("r.test/app:1", finding("CVE-2024-0001", "openssl", "high", "3.0.2")), VerdictFail,
			[]string{"stella.builtin.deny:CVE-2024-0001"}, nil},
		{"medium with fix passes", input("r.test/app:1", finding("CVE-2024-0001", "openssl", SeverityMedium, "3.0.2")), VerdictPass, nil, nil},
		{"unfixed warns", input("r.test/app:1", finding("CVE-2024-0001", "openssl", SeverityCritical)), VerdictWarn,
			nil, []string{"stella.builtin.warn:CVE-2024-0001"}},
		{"kev fails even low and unfixed", input("r.test/app:1", kev), VerdictFail,
			[]string{"stella.builtin.deny:CVE-2024-0003"}, []string{"stella.builtin.warn:CVE-2024-0003"}},
		{"vex not_affected ignored", input("r.test/app:1", vex), VerdictPass, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.Evaluate(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != c.verdict || d.Allow != (c.verdict != VerdictFail) {
				t.Errorf("verdict %s allow %v, want %s", d.Verdict, d.Allow, c.verdict)
			}
			if got := policies(d.Deny); !slices.Equal(got, c.deny) {
				t.Errorf("deny %v, want %v", got, c.deny)
			}
			if got := policies(d.Warn); !slices.Equal(got, c.warn) {
				t.Errorf("warn %v, want %v", got, c.warn)
			}
		})
	}
}

// Organisation rules: deny (and deny_*) in any package fails; thresholds
// and waivers come from the directory's data.
func TestOrgRules(t *testing.T) {
	e := mustLoad(t, Options{Dirs: []string{"testdata/org"}})
	stale := input("registry.acme.test/team/app:1.0")
	stale.Provenance.DBAgeHours = 72
	banned := input("registry.acme.test/team/app:1.0")
	banned.SBOM.Packages = []Package{{Name: "telnetd", Version: "0.17", Ecosystem: "deb"}}
	exploited := finding("CVE-2024-0009", "openssl", SeverityLow)
	exploited.EPSS = 0.95
	cases := []struct {
		name    string
		in      *Input
		verdict string
		deny    []string
		warn    []string
	}{
		{"clean internal image", input("registry.acme.test/team/app:1.0"), VerdictPass, nil, nil},
		{"docker hub", input("docker.io/library/nginx:1.25"), VerdictFail, []string{"acme.images.deny:"}, nil},
		{"latest tag", input("registry.acme.test/team/app:latest"), VerdictFail, []string{"acme.images.deny_latest:"}, nil},
		{"banned package", banned, VerdictFail, []string{"acme.pkgs.deny:"}, nil},
		{"stale db warns", stale, VerdictWarn, nil, []string{"acme.pkgs.warn:"}},
		{"epss from org data", input("registry.acme.test/other/app:1", exploited), VerdictFail,
			[]string{"acme.pkgs.deny:CVE-2024-0009"}, []string{"stella.builtin.warn:CVE-2024-0009"}},
		// settings.yaml raised the default threshold to CRITICAL.
		{"high with fix passes under the org threshold", input("registry.acme.test/other/app:1", finding("CVE-2024-0005", "openssl", SeverityHigh, "2")), VerdictPass, nil, nil},
		{"critical with fix still fails", input("registry.acme.test/other/app:1", finding("CVE-2024-0005", "openssl", SeverityCritical, "2")), VerdictFail,
			[]string{"stella.builtin.deny:CVE-2024-0005"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := e.Evaluate(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != c.verdict {
				t.Errorf("verdict %s, want %s (%+v)", d.Verdict, c.verdict, d)
			}
			if got := policies(d.Deny); !slices.Equal(got, c.deny) {
				t.Errorf("deny %v, want %v", got, c.deny)
			}
			if got := policies(d.Warn); !slices.Equal(got, c.warn) {
				t.Errorf("warn %v, want %v", got, c.warn)
			}
			for _, r := range append(d.Deny, d.Warn...) {
				if r.Msg == "" {
					t.Errorf("reason without a message: %+v", r)
				}
			}
		})
	}
}

// Waivers: an active one sets the reasons citing its CVE aside for the
// images its glob matches; past its date it stops working.
func TestWaivers(t *testing.T) {
	day := func(s string) func() time.Time {
		return func() time.Time {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
	}
	crit := func(id string) Finding { return finding(id, "openssl", SeverityCritical, "3.0.2") }
	cases := []struct {
		name, now, image string
		f                Finding
		verdict          string
		waived, expired  int
	}{
		{"active waiver", "2026-01-01T00:00:00Z", "registry.acme.test/team/app:1", crit("CVE-2024-0001"), VerdictPass, 1, 1},
		{"active waiver, nested repository", "2026-01-01T00:00:00Z", "registry.acme.test/team/sub/app:1", crit("CVE-2024-0001"), VerdictPass, 1, 1},
		{"other image", "2026-01-01T00:00:00Z", "registry.acme.test/other/app:1", crit("CVE-2024-0001"), VerdictFail, 0, 0},
		{"expired waiver stops working", "2026-01-01T00:00:00Z", "registry.acme.test/team/app:1", crit("CVE-2024-0002"), VerdictFail, 0, 1},
		{"same waiver before its date", "2001-01-31T23:00:00Z", "registry.acme.test/team/app:1", crit("CVE-2024-0002"), VerdictPass, 1, 0},
		{"same waiver the day after", "2001-02-01T00:00:00Z", "registry.acme.test/team/app:1", crit("CVE-2024-0002"), VerdictFail, 0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustLoad(t, Options{Dirs: []string{"testdata/org"}, Now: day(c.now)})
			d, err := e.Evaluate(context.Background(), input(c.image, c.f))
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict != c.verdict || len(d.Waived) != c.waived || len(d.ExpiredWaivers) != c.expired {
				t.Fatalf("verdict %s, %d waived, %d expired waivers; want %s, %d, %d\n%+v", d.Verdict, len(d.Waived), len(d.ExpiredWaivers), c.verdict, c.waived, c.expired, d)
			}
			for _, w := range d.Waived {
				if w.Waiver == nil || w.Waiver.ID != c.f.ID || !slices.Equal(w.Cites(), []string{c.f.ID}) {
					t.Errorf("waived reason %+v does not carry its waiver", w)
				}
			}
		})
	}
}

// A broken policy fails at load time with file:line, never at admission
// time; policies that would reach the network or the environment are
// refused.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		file  string // the problem's file, relative to the directory
		line  int
		want  string
	}{
		{"syntax error", map[string]string{"a.rego": "package a\n\ndeny contains msg if {\n\tmsg := \n}\n"}, "a.rego", 5, "rego_parse_error"},
		{"v0 syntax", map[string]string{"a.rego": "package a\n\ndeny[msg] {\n\tmsg := \"x\"\n}\n"}, "a.rego", 3, "rego_parse_error"},
		{"undefined function", map[string]string{"a.rego": "package a\n\ndeny contains msg if {\n\tmsg := nosuch(1)\n}\n"}, "a.rego", 4, "undefined function nosuch"},
		{"http.send refused", map[string]string{"net.rego": "package a\n\ndeny contains msg if {\n\tr := http.send({\"method\": \"GET\", \"url\": \"http://127.0.0.1:1/\"})\n\tmsg := r.body\n}\n"}, "net.rego", 4, "http.send"},
		{"opa.runtime refused (environment)", map[string]string{"env.rego": "package a\n\nwarn contains msg if {\n\tmsg := opa.runtime().env.HOME\n}\n"}, "env.rego", 4, "opa.runtime"},
		{"dns refused", map[string]string{"dns.rego": "package a\n\nwarn contains msg if {\n\tmsg := net.lookup_ip_addr(\"example.com\")\n}\n"}, "dns.rego", 4, "net.lookup_ip_addr"},
		{"template refused (unbounded output)", map[string]string{"t.rego": "package a\n\nwarn contains msg if {\n\tmsg := strings.render_template(\"{{range $.a}}{{range $.a}}x{{end}}{{end}}\", {\"a\": [1, 2]})\n}\n"}, "t.rego", 4, "strings.render_template"},
		{"reserved package", map[string]string{"x.rego": "package stella.decision\n\nfoo := 1\n"}, "x.rego", 1, "reserved"},
		{"recursion", map[string]string{"r.rego": "package a\n\np if q\n\nq if p\n"}, "r.rego", 3, "rego_recursion_error"},
		{"bad data", map[string]string{"d.json": "{\"a\": "}, "d.json", 0, "data"},
		{"data conflict", map[string]string{"d1.json": "{\"a\": 1}", "d2.yaml": "a: 2\n"}, "d2.yaml", 0, "data.a is defined by two files"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, src := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(context.Background(), Options{Dirs: []string{dir}})
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("want a *LoadError, got %v", err)
			}
			t.Log(err)
			found := false
			for _, p := range le.Problems {
				if p.File == filepath.Join(dir, c.file) && (c.line == 0 || p.Line == c.line) && strings.Contains(p.Message, c.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %s:%d containing %q in\n%v", c.file, c.line, c.want, err)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, c.file)) {
				t.Errorf("message does not name the file: %v", err)
			}
			if err := Check(context.Background(), []string{dir}); err == nil {
				t.Error("Check passed a broken policy")
			}
		})
	}
}

// A policy that never ends is stopped at the deadline with a clear error.
func TestEvaluationDeadline(t *testing.T) {
	dir := t.TempDir()
	src := `package slow

deny contains "never" if {
	some i in numbers.range(1, 100000)
	some j in numbers.range(1, 100000)
	some k in numbers.range(1, 100000)
	i + j + k < 0
}
`
	if err := os.WriteFile(filepath.Join(dir, "slow.rego"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	e := mustLoad(t, Options{Dirs: []string{dir}, Timeout: 200 * time.Millisecond})
	t0 := time.Now()
	_, err := e.Evaluate(context.Background(), input("r.test/app:1"))
	took := time.Since(t0)
	if err == nil || !strings.Contains(err.Error(), "stopped after 200ms") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want a deadline error, got %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("stopped after %s", took)
	}
	t.Logf("%v (after %s)", err, took)
}

// The direct conversion of the input equals what an OPA server parses
// from its JSON: the condition for identical decisions.
func TestInputValueMatchesJSON(t *testing.T) {
	full := syntheticInput(30)
	full.Image.Platform = "linux/arm64"
	full.Image.Layers = []Layer{{Index: 1, DiffID: "sha256:aa", Digest: "sha256:bb", Size: 1234, CreatedBy: "RUN x"}, {Index: 2, DiffID: "sha256:cc"}}
	full.SBOM.Source, full.SBOM.Distro = "unpack", "debian:12"
	full.Findings[0].EPSS = 0.0000001
	full.Findings[1].EPSS = 0.97231
	full.Findings[2].CVSS = CVSS{Score: 9.8, Vector: "CVSS:3.1/AV:N", Version: "3.1"}
	full.Provenance = Provenance{StellaVersion: "dev", DBVersion: "2026-01-01", DBUpdated: "2026-01-01T00:00:00Z", DBAgeHours: 12.5,
		Analyzers: map[string]int{"dpkg": 2, "apk": 1}, Plugins: map[string]string{"p": "sha256:00"}, SBOMSource: "unpack"}
	cases := []struct {
		name string
		in   *Input
	}{
		{"zero", &Input{}},
		{"normalized empty", input("")},
		{"full", full},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := c.in.jsonValue()
			if err != nil {
				t.Fatal(err)
			}
			got := c.in.value()
			if ast.Compare(got, want) != 0 || got.String() != want.String() {
				t.Errorf("direct value differs from JSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestInputFrom(t *testing.T) {
	doc := &sbom.Document{
		Target: "oci:/x",
		Image:  &sbom.Image{Name: "registry.test/app:1", Digest: "sha256:d", Platform: "linux/amd64", Layers: []sbom.Layer{{Index: 1, DiffID: "sha256:l1"}}},
		Distro: &sbom.Distro{ID: "debian", Version: "12"},
		Source: "unpack",
		Packages: []sbom.Package{
			{Name: "openssl", Version: "3.0.1", Ecosystem: sbom.Deb, PURL: "pkg:deb/debian/openssl@3.0.1", Layer: "sha256:l1"},
		},
	}
	in := InputFrom(doc, []FindingInput{
		{ID: "CVE-2", Package: doc.Packages[0], Severity: "moderate"},
		{ID: "CVE-1", Aliases: []string{"GHSA-x"}, Package: doc.Packages[0], Fixed: []string{"3.0.2"}, Severity: "HIGH", KEV: true},
	}, Provenance{StellaVersion: "dev"})
	want := Input{
		Image: Image{Name: "registry.test/app:1", Digest: "sha256:d", Platform: "linux/amd64", Layers: []Layer{{Index: 1, DiffID: "sha256:l1"}}},
		SBOM:  SBOM{Source: "unpack", Distro: "debian:12", Packages: []Package{{Name: "openssl", Version: "3.0.1", Ecosystem: "deb", PURL: "pkg:deb/debian/openssl@3.0.1", Layer: "sha256:l1"}}},
		Findings: []Finding{
			{ID: "CVE-1", Aliases: []string{"GHSA-x"}, Package: PackageRef{Name: "openssl", Version: "3.0.1", Ecosystem: "deb", PURL: "pkg:deb/debian/openssl@3.0.1"}, Installed: "3.0.1", Fixed: []string{"3.0.2"}, Severity: "HIGH", KEV: true},
			{ID: "CVE-2", Aliases: []string{}, Package: PackageRef{Name: "openssl", Version: "3.0.1", Ecosystem: "deb", PURL: "pkg:deb/debian/openssl@3.0.1"}, Installed: "3.0.1", Fixed: []string{}, Severity: "MEDIUM"},
		},
		Provenance: Provenance{StellaVersion: "dev", SBOMSource: "unpack"},
		Summary: &Summary{Findings: 2, Aliases: map[string][]string{"GHSA-x": {"CVE-1"}}, Groups: []Group{
			{Severity: "HIGH", Fixable: true, KEV: true, IDs: []string{"CVE-1"}},
			{Severity: "MEDIUM", IDs: []string{"CVE-2"}},
		}},
	}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("InputFrom:\n got %+v\nwant %+v", in, want)
	}
	if nilDoc := InputFrom(nil, nil, Provenance{}); nilDoc.Findings == nil || nilDoc.SBOM.Packages == nil || nilDoc.Image.Layers == nil {
		t.Errorf("nil slices from a nil document: %+v", nilDoc)
	}
}
