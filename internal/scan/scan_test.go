package scan

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/match/matchtest"
)

func TestMain(m *testing.M) { matchtest.Main(m) }

// want is one expected finding: package name and installed version, the
// vulnerability id (the CVE), a record id that must be among its evidence,
// and the fixed version.
type want struct{ pkg, version, id, record, fixed string }

func scanImage(t *testing.T, img string, vexFiles ...string) *Result {
	t.Helper()
	r, err := Scan(context.Background(), "oci:"+filepath.Join(analyzetest.ImageDir(t, img), "oci"), ScanOptions{DB: matchtest.Open(t), VEX: vexFiles, StellaVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkExact: the findings are exactly want (no more, no fewer), each with
// the record and fixed version derived by hand, and evidence naming the
// layer and file.
func checkExact(t *testing.T, r *Result, ws []want) {
	t.Helper()
	got := map[string]*match.Finding{}
	for i := range r.Findings {
		f := &r.Findings[i]
		k := f.Package.Name + " " + f.InstalledVersion + " " + f.ID
		if got[k] != nil {
			t.Errorf("duplicate finding %s", k)
		}
		got[k] = f
	}
	for _, w := range ws {
		k := w.pkg + " " + w.version + " " + w.id
		f := got[k]
		if f == nil {
			t.Errorf("missing %s (%s)", k, w.record)
			continue
		}
		delete(got, k)
		if !f.Has(w.record) {
			t.Errorf("%s: record %s not in evidence %+v", k, w.record, f.Evidence)
		}
		if w.fixed != "" && (len(f.FixedVersions) == 0 || f.FixedVersions[0] != w.fixed) {
			t.Errorf("%s: fixed %v, want %s first", k, f.FixedVersions, w.fixed)
		}
		for _, e := range f.Evidence {
			if e.LayerIndex == 0 || e.Path == "" || e.Layer == "" || e.Compared == "" || e.DocDigest == "" {
				t.Errorf("%s: evidence lacks layer, file, comparison or document: %+v", k, e)
			}
		}
	}
	var extra []string
	for k := range got {
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		t.Errorf("unexpected finding %s (%v)", k, got[k].Evidence)
	}
}

// debian-app (bookworm): the Debian tracker snapshot predates bookworm, so
// no OS package has a finding; the python3-* dist-info/egg-info are owned
// by their dpkg packages, so PYSEC/GHSA ranges (requests 2.28.1 is inside
// GHSA-j8r2-6x86-q33q's 2.3.0 -> 2.31.0, urllib3 1.26.12 inside
// GHSA-v845-jxx5-vc9f's 0 -> 1.26.17) must NOT apply; the jars are at or
// above every fix (commons-text 1.10.0 = GHSA-599f-7c49-w659's fix; no
// record names log4j-api or jackson-core).
func TestScanDebianApp(t *testing.T) {
	r := scanImage(t, "debian-app")
	checkExact(t, r, []want{
		// npm, /app/node_modules (layer 3), from the GHSA records:
		{"lodash", "4.17.20", "CVE-2021-23337", "GHSA-35jh-r3h4-6jhm", "4.17.21"}, // introduced 0, fixed 4.17.21
		{"lodash", "4.17.20", "CVE-2020-28500", "GHSA-29mw-wpgm-hmr9", "4.17.21"}, // introduced 0, fixed 4.17.21
		{"minimist", "1.2.5", "CVE-2021-44906", "GHSA-xvch-5gv4-984h", "1.2.6"},   // 1.0.0 -> 1.2.6
		{"axios", "0.21.1", "CVE-2023-45857", "GHSA-wf5p-g6vw-rhxx", "1.6.0"},     // 0.8.1 -> 1.6.0
		{"axios", "0.21.1", "CVE-2021-3749", "GHSA-cph5-m8f7-6c5x", "0.21.2"},     // 0 -> 0.21.2
		{"jsonwebtoken", "8.5.1", "CVE-2022-23529", "GHSA-27h2-hvpr-p74q", "9.0.0"},
		// node-fetch: 0 -> 2.6.7 and 1.0 -> 3.1.1 both hold 2.6.0; lowest fix first.
		{"node-fetch", "2.6.0", "CVE-2022-0235", "GHSA-r683-j2x4-v87g", "2.6.7"},
		{"express", "4.17.1", "CVE-2024-29041", "GHSA-rv95-896h-c2vc", "4.19.2"},
		{"express", "4.17.1", "CVE-2024-43796", "GHSA-qw6h-vgh9-j6wx", "4.20.0"},
		{"qs", "6.7.0", "CVE-2022-24999", "GHSA-hrpp-h998-j3pp", "6.7.3"}, // range 6.7.0 -> 6.7.3
		{"body-parser", "1.19.0", "CVE-2024-45590", "GHSA-qwcr-r2fm-qrc7", "1.20.3"},
		{"cookie", "0.4.0", "CVE-2024-47764", "GHSA-pxg6-pf52-xh8x", "0.7.0"},
		{"send", "0.17.1", "CVE-2024-43799", "GHSA-m6fv-jmcg-4jfg", "0.19.0"},
		{"serve-static", "1.14.1", "CVE-2024-43800", "GHSA-cm22-4g7w-348p", "1.16.0"},
		{"path-to-regexp", "0.1.7", "CVE-2024-45296", "GHSA-9wv6-86v2-598j", "0.1.10"},
		// Go binary /usr/local/bin/stella-demo (layer 4), Go vulndb and GHSA:
		{"github.com/gin-gonic/gin", "v1.9.0", "CVE-2023-29401", "GO-2023-1737", "1.9.1"},
		{"golang.org/x/text", "v0.3.7", "CVE-2022-32149", "GO-2022-1059", "0.3.8"},
		// x/net v0.7.0: GO-2023-1571 (fixed 0.7.0) and GO-2022-0969 (fixed at a
		// 2022 pseudo-version) do not apply; these do:
		{"golang.org/x/net", "v0.7.0", "CVE-2023-44487", "GHSA-qppj-fm5r-hxr3", "0.17.0"},
		{"golang.org/x/net", "v0.7.0", "CVE-2023-39325", "GO-2023-2102", "0.17.0"},
		{"golang.org/x/net", "v0.7.0", "CVE-2023-3978", "GO-2023-1988", "0.13.0"},
		{"golang.org/x/net", "v0.7.0", "CVE-2023-45288", "GO-2024-2687", "0.23.0"},
		{"github.com/golang-jwt/jwt/v4", "v4.4.1", "CVE-2024-51744", "GO-2024-3250", "4.5.1"},
		{"github.com/golang-jwt/jwt/v4", "v4.4.1", "CVE-2025-30204", "GO-2025-3553", "4.5.2"},
		// gopkg.in/yaml.v3 v3.0.0: GO-2022-0603 fixed at 3.0.0-20220521103104-…,
		// a pseudo-version below v3.0.0: not affected (and NVD's CPE, which says
		// 3.0.0 is, is not consulted: Go covers the module).
		// stdlib go1.21.0 (ranges 1.21.0-0 -> fix): GO-2023-1987 ends at
		// 1.21.0-rc.4 (< go1.21.0) and GO-2023-1878 at 1.20.6: not affected.
		{"stdlib", "go1.21.0", "CVE-2023-39321", "GO-2023-2044", "1.21.1"},
		{"stdlib", "go1.21.0", "CVE-2023-39318", "GO-2023-2041", "1.21.1"},
		{"stdlib", "go1.21.0", "CVE-2023-39319", "GO-2023-2043", "1.21.1"},
		{"stdlib", "go1.21.0", "CVE-2023-39325", "GO-2023-2102", "1.21.3"},
		{"stdlib", "go1.21.0", "CVE-2023-45283", "GO-2023-2185", "1.21.4"},
		{"stdlib", "go1.21.0", "CVE-2023-45284", "GO-2023-2186", "1.21.4"},
		{"stdlib", "go1.21.0", "CVE-2023-39326", "GO-2023-2382", "1.21.5"},
		{"stdlib", "go1.21.0", "CVE-2023-45288", "GO-2024-2687", "1.21.9"},
		{"stdlib", "go1.21.0", "CVE-2024-24790", "GO-2024-2887", "1.21.11"},
	})
	if r.Summary.Packages == 0 || r.Image == nil || len(r.Image.Layers) != 5 || r.Provenance.DB.Path == "" || len(r.Provenance.Analyzers) == 0 {
		t.Errorf("result lacks image, provenance: %+v %+v", r.Image, r.Provenance)
	}
	owned := 0
	for _, p := range r.SBOM.Packages {
		if p.Ecosystem == "pypi" && p.OwnedBy != "" {
			owned++
		}
	}
	if owned == 0 || r.Provenance.MatchStats.Skipped.OwnedByOS != owned {
		t.Errorf("owned pypi packages %d, skipped %d", owned, r.Provenance.MatchStats.Skipped.OwnedByOS)
	}
	if r.Policy.Decision != "not_evaluated" {
		t.Errorf("policy %+v", r.Policy)
	}
}

// debian-bullseye-old (Debian 11.5): the [bullseye] lines of the DSA list
// by source package; source versions compared.
func TestScanBullseyeOld(t *testing.T) {
	r := scanImage(t, "debian-bullseye-old")
	var ws []want
	// DSA-5343-1 openssl [bullseye] 1.1.1n-0+deb11u4 > installed deb11u3; binaries
	// openssl and libssl1.1 (Source: openssl). DSA-5169-1 (CVE-2022-2068)
	// fixed deb11u3 = installed: not a finding.
	for _, bin := range []string{"openssl", "libssl1.1"} {
		for _, cve := range []string{"CVE-2022-2097", "CVE-2022-4304", "CVE-2022-4450", "CVE-2023-0215", "CVE-2023-0286"} {
			ws = append(ws, want{bin, "1.1.1n-0+deb11u3", cve, "DSA-5343-1", "1.1.1n-0+deb11u4"})
		}
	}
	// DSA-5349-1 gnutls28 3.7.1-5+deb11u3 (CVE-2023-0361) > deb11u2.
	ws = append(ws, want{"libgnutls30", "3.7.1-5+deb11u2", "CVE-2023-0361", "DSA-5349-1", "3.7.1-5+deb11u3"})
	// DSA-5305-1 libksba 1.5.0-3+deb11u2 (CVE-2022-47629) > deb11u1.
	ws = append(ws, want{"libksba8", "1.5.0-3+deb11u1", "CVE-2022-47629", "DSA-5305-1", "1.5.0-3+deb11u2"})
	// DSA-5286-1 krb5 1.18.3-6+deb11u3 (CVE-2022-42898) > deb11u2, four binaries.
	for _, bin := range []string{"libgssapi-krb5-2", "libk5crypto3", "libkrb5-3", "libkrb5support0"} {
		ws = append(ws, want{bin, "1.18.3-6+deb11u2", "CVE-2022-42898", "DSA-5286-1", "1.18.3-6+deb11u3"})
	}
	// Fixed at exactly the installed version, so absent: DSA-5271-1 libxml2,
	// DSA-5218-1 zlib, DSA-5122-1 gzip, DSA-5123-1 xz-utils, DSA-5055-1
	// util-linux (bsdutils 1:2.36.1-8+deb11u1 vs source 2.36.1-8+deb11u1).
	checkExact(t, r, ws)
	f := r.Findings[0]
	if f.Matcher != match.KindDistro || f.Evidence[0].Release != "bullseye" || f.Evidence[0].Source != "debian" {
		t.Errorf("distro evidence %+v", f.Evidence[0])
	}
}

// alpine-3.10-old (Alpine 3.10.0): secdb v3.10/main.yaml by origin.
func TestScanAlpine310Old(t *testing.T) {
	r := scanImage(t, "alpine-3.10-old")
	ws := []want{
		// musl 1.1.22-r3: [CVE-2019-14697] > installed 1.1.22-r2 (musl, musl-utils).
		{"musl", "1.1.22-r2", "CVE-2019-14697", "CVE-2019-14697", "1.1.22-r3"},
		{"musl-utils", "1.1.22-r2", "CVE-2019-14697", "CVE-2019-14697", "1.1.22-r3"},
	}
	// openssl 1.1.1d-r0: CVE-2019-1547, -1549, -1563 > installed 1.1.1c-r0
	// (libssl1.1, libcrypto1.1 with origin openssl); CVE-2019-1551 is v3.11 only.
	for _, bin := range []string{"libssl1.1", "libcrypto1.1"} {
		for _, cve := range []string{"CVE-2019-1547", "CVE-2019-1549", "CVE-2019-1563"} {
			ws = append(ws, want{bin, "1.1.1c-r0", cve, cve, "1.1.1d-r0"})
		}
	}
	// nginx 1.16.1-r0: CVE-2019-9511, -9513, -9516 > 1.16.0-r2 (CVE-2019-20372: v3.11 only).
	for _, cve := range []string{"CVE-2019-9511", "CVE-2019-9513", "CVE-2019-9516"} {
		ws = append(ws, want{"nginx", "1.16.0-r2", cve, cve, "1.16.1-r0"})
	}
	// nodejs 10.16.3-r0: CVE-2019-9511 … -9518 > 10.16.0-r0.
	for _, cve := range []string{"CVE-2019-9511", "CVE-2019-9512", "CVE-2019-9513", "CVE-2019-9514", "CVE-2019-9515", "CVE-2019-9516", "CVE-2019-9517", "CVE-2019-9518"} {
		ws = append(ws, want{"nodejs", "10.16.0-r0", cve, cve, "10.16.3-r0"})
	}
	// busybox 1.30.1-r2 = the fix of CVE-2019-5747: absent.
	checkExact(t, r, ws)
}

// --vex marks a finding and the summary counts it as suppressed.
func TestScanVEX(t *testing.T) {
	p := filepath.Join(t.TempDir(), "vex.json")
	doc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"a","timestamp":"2024-01-01T00:00:00Z","version":1,
	"statements":[{"vulnerability":{"name":"GHSA-xvch-5gv4-984h"},"products":[{"@id":"pkg:npm/minimist@1.2.5"}],"status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}`
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	r := scanImage(t, "debian-app", p)
	var f *match.Finding
	for i := range r.Findings {
		if r.Findings[i].ID == "CVE-2021-44906" {
			f = &r.Findings[i]
		}
	}
	if f == nil || f.VEX == nil || f.VEX.Status != "not_affected" || f.VEX.Justification != "vulnerable_code_not_in_execute_path" {
		t.Fatalf("minimist VEX: %+v", f)
	}
	if r.Summary.Suppressed != 1 || r.Summary.BySeverity["CRITICAL"] != 0 || len(r.FailsOn("critical")) != 0 {
		t.Errorf("summary %+v", r.Summary)
	}
	if len(r.Provenance.VEX) != 1 {
		t.Errorf("provenance VEX %v", r.Provenance.VEX)
	}
}

func TestScanErrors(t *testing.T) {
	if _, err := Scan(context.Background(), "oci:nowhere", ScanOptions{}); !errors.Is(err, ErrNoDB) {
		t.Errorf("no DB: %v", err)
	}
	_, err := Scan(context.Background(), "oci:"+filepath.Join(analyzetest.ImageDir(t, "alpine-3.10-old"), "oci"),
		ScanOptions{DB: matchtest.Open(t), VEX: []string{"testdata/no-such-vex.json"}})
	var ie *image.InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "no-such-vex.json") {
		t.Errorf("missing VEX file: %v (want an input error naming it)", err)
	}
}
