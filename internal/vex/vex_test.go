package vex

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/match"
)

func feeds(t testing.TB, rel string) string {
	return filepath.Join(analyzetest.SharedDir(t), "testdata", "feeds", rel)
}

func finding(id string, aliases []string, eco, name, ver, purl, src, srcVer string) match.Finding {
	return match.Finding{ID: id, Aliases: aliases, State: match.StateFixed,
		Package: match.PackageRef{ID: purl, Name: name, Version: ver, Ecosystem: eco, PURL: purl, SourceName: src, SourceVersion: srcVer}}
}

// Ubuntu's OpenVEX for CVE-2023-38545 (real document): a "fixed"
// statement lists pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.24?arch=source&distro=jammy,
// and a "not_affected" one (vulnerable_code_not_present) lists focal's
// curl 7.68.0-1ubuntu2.25+esm3.
func TestOpenVEXUbuntu(t *testing.T) {
	d, err := Load(feeds(t, "ubuntu/vex/cve/2023/CVE-2023-38545.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != FormatOpenVEX || len(d.Statements) != 3 {
		t.Fatalf("format %s, %d statements", d.Format, len(d.Statements))
	}
	fs := []match.Finding{
		// binary libcurl4 of source curl at the fixed version: fixed.
		finding("CVE-2023-38545", nil, "deb", "libcurl4", "7.81.0-1ubuntu1.24",
			"pkg:deb/ubuntu/libcurl4@7.81.0-1ubuntu1.24?arch=amd64&distro=ubuntu-22.04&upstream=curl", "curl", "7.81.0-1ubuntu1.24"),
		// focal curl at the esm3 version: not_affected with justification.
		finding("CVE-2023-38545", nil, "deb", "curl", "7.68.0-1ubuntu2.25+esm3",
			"pkg:deb/ubuntu/curl@7.68.0-1ubuntu2.25+esm3?arch=amd64&distro=ubuntu-20.04", "curl", "7.68.0-1ubuntu2.25+esm3"),
		// an older jammy curl is in neither list.
		finding("CVE-2023-38545", nil, "deb", "curl", "7.81.0-1ubuntu1.13",
			"pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.13?arch=amd64&distro=ubuntu-22.04", "curl", "7.81.0-1ubuntu1.13"),
		// another vulnerability of the fixed curl: not this document's business.
		finding("CVE-2023-38546", nil, "deb", "curl", "7.81.0-1ubuntu1.24",
			"pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.24?arch=amd64&distro=ubuntu-22.04", "curl", "7.81.0-1ubuntu1.24"),
	}
	if n := Apply([]*Document{d}, fs, Target{}); n != 2 {
		t.Errorf("applied to %d findings, want 2", n)
	}
	if v := fs[0].VEX; v == nil || v.Status != Fixed || v.Format != FormatOpenVEX || v.Document != d.Path {
		t.Errorf("libcurl4 7.81.0-1ubuntu1.24: %+v", v)
	}
	if v := fs[1].VEX; v == nil || v.Status != NotAffected || v.Justification != "vulnerable_code_not_present" || v.Impact == "" {
		t.Errorf("focal curl: %+v", v)
	}
	if fs[2].VEX != nil || fs[3].VEX != nil {
		t.Errorf("unexpected statements: %+v %+v", fs[2].VEX, fs[3].VEX)
	}
	if fs[0].Vulnerable() || fs[1].Vulnerable() || !fs[2].Vulnerable() {
		t.Error("Vulnerable() does not follow the VEX status")
	}
}

// Stackable's CSAF VEX for CVE-2022-1471 (real document): snakeyaml 1.33
// is "fixed" in the hbase image sha256:e4a52426… and "known_not_affected"
// (flag vulnerable_code_cannot_be_controlled_by_adversary, with an impact
// threat) in hbase sha256:e7cef91e…; the statements name the component
// within an image, so a scan of another image is not covered.
func TestCSAFStackable(t *testing.T) {
	d, err := Load(feeds(t, "csaf/stackable/csaf/v2/advisories/2026/cve-2022-1471.json"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != FormatCSAF || len(d.Statements) == 0 {
		t.Fatalf("format %s, %d statements", d.Format, len(d.Statements))
	}
	snake := func() []match.Finding {
		return []match.Finding{finding("CVE-2022-1471", []string{"GHSA-mjmj-j48q-9wg2"}, "maven", "org.yaml:snakeyaml", "1.33",
			"pkg:maven/org.yaml/snakeyaml@1.33", "", "")}
	}
	fs := snake()
	Apply([]*Document{d}, fs, Target{ImageDigest: "sha256:e4a52426c37da32cc8d0bb57520b982a22ec1897ace8cf77fcf6ed2c2c5bd47c"})
	if v := fs[0].VEX; v == nil || v.Status != Fixed {
		t.Errorf("hbase e4a52426: %+v", v)
	}
	fs = snake()
	Apply([]*Document{d}, fs, Target{ImageDigest: "sha256:e7cef91e22c6d63e1e80f8ce52d4584f0b7080f7e02c1d68230aef10a4eb1ffe"})
	if v := fs[0].VEX; v == nil || v.Status != NotAffected || v.Justification != "vulnerable_code_cannot_be_controlled_by_adversary" || v.Impact == "" {
		t.Errorf("hbase e7cef91e: %+v", v)
	}
	for _, digest := range []string{"", "sha256:0000000000000000000000000000000000000000000000000000000000000000"} {
		fs = snake()
		if Apply([]*Document{d}, fs, Target{ImageDigest: digest}); fs[0].VEX != nil {
			t.Errorf("image %q: statement applied: %+v", digest, fs[0].VEX)
		}
	}
}

// A CycloneDX VEX naming components by bom-ref and BOM-Link; a
// vulnerability without analysis says nothing.
func TestCycloneDXVEX(t *testing.T) {
	d, err := Load("testdata/cyclonedx-vex.json")
	if err != nil {
		t.Fatal(err)
	}
	fs := []match.Finding{
		finding("CVE-2021-23337", []string{"GHSA-35jh-r3h4-6jhm"}, "npm", "lodash", "4.17.20", "pkg:npm/lodash@4.17.20", "", ""),
		finding("CVE-2023-45857", []string{"GHSA-wf5p-g6vw-rhxx"}, "npm", "axios", "0.21.1", "pkg:npm/axios@0.21.1", "", ""),
		finding("CVE-2021-44906", []string{"GHSA-xvch-5gv4-984h"}, "npm", "minimist", "1.2.5", "pkg:npm/minimist@1.2.5", "", ""),
		// lodash 4.17.21 is another version than the bom-ref names.
		finding("CVE-2021-23337", nil, "npm", "lodash", "4.17.21", "pkg:npm/lodash@4.17.21", "", ""),
	}
	Apply([]*Document{d}, fs, Target{})
	if v := fs[0].VEX; v == nil || v.Status != NotAffected || v.Justification != "code_not_reachable" || v.Action != "will_not_fix" || v.Format != FormatCycloneDX {
		t.Errorf("lodash: %+v", v)
	}
	// matched through the alias GHSA-wf5p-g6vw-rhxx
	if v := fs[1].VEX; v == nil || v.Status != UnderInvestigation {
		t.Errorf("axios: %+v", v)
	}
	if fs[2].VEX != nil || fs[3].VEX != nil {
		t.Errorf("minimist %+v, lodash 4.17.21 %+v: want none", fs[2].VEX, fs[3].VEX)
	}
}

// OpenVEX v0.0.1 (string vulnerability and products) with an image
// product and subcomponents.
func TestOpenVEXSubcomponents(t *testing.T) {
	d, err := Load("testdata/openvex-v0.0.1.json")
	if err != nil {
		t.Fatal(err)
	}
	img := "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	fs := []match.Finding{
		finding("CVE-2023-39321", []string{"GO-2023-2044"}, "golang", "stdlib", "go1.21.0", "pkg:golang/stdlib@go1.21.0", "", ""),
		finding("CVE-2022-32149", []string{"GO-2022-1059"}, "golang", "golang.org/x/text", "v0.3.7", "pkg:golang/golang.org/x/text@v0.3.7", "", ""),
	}
	Apply([]*Document{d}, fs, Target{ImageDigest: img})
	if v := fs[0].VEX; v == nil || v.Status != NotAffected || v.Impact != "the binary does not use crypto/tls" {
		t.Errorf("stdlib: %+v", v)
	}
	if v := fs[1].VEX; v == nil || v.Status != Affected || v.Action != "upgrade to v0.3.8" || !fs[1].Vulnerable() {
		t.Errorf("x/text: %+v", v)
	}
	fs[0].VEX = nil
	if Apply([]*Document{d}, fs[:1], Target{ImageDigest: "sha256:2222"}); fs[0].VEX != nil {
		t.Errorf("other image: %+v", fs[0].VEX)
	}
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":          `{`,
		"unknown format":    `{"hello": "world"}`,
		"bad openvex state": `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"maybe"}]}`,
		"openvex no vuln":   `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"status":"fixed"}]}`,
		"cdx bad state":     `{"bomFormat":"CycloneDX","vulnerabilities":[{"id":"CVE-1","analysis":{"state":"perhaps"}}]}`,
	} {
		if _, err := Parse(bytes.NewReader([]byte(doc))); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := Load("testdata/missing.json"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("testdata/missing.json")) {
		t.Errorf("missing file: %v (want the path in the error)", err)
	}
}

// fuzzSeeds are small documents of each format (the fuzzer mutates small
// inputs far faster; the real, larger documents are covered by the tests
// above).
func fuzzSeeds(f *testing.F) {
	for _, p := range []string{"testdata/cyclonedx-vex.json", "testdata/openvex-v0.0.1.json"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2023-38545","aliases":["https://www.cve.org/CVERecord?id=CVE-2023-38545"]},` +
		`"products":[{"@id":"pkg:deb/ubuntu/curl@7.81.0-1ubuntu1.24?arch=source&distro=jammy"}],"status":"not_affected","justification":"vulnerable_code_not_present"}]}`))
	f.Add([]byte(`{"document":{"category":"csaf_vex","csaf_version":"2.0"},"product_tree":{"branches":[{"branches":[{"product":{"product_id":"img","product_identification_helper":{"purl":"pkg:oci/hbase@sha256:e4a5"}}}]}],` +
		`"full_product_names":[{"product_id":"snake","product_identification_helper":{"purl":"pkg:maven/org.yaml/snakeyaml@1.33"}}],` +
		`"relationships":[{"category":"default_component_of","full_product_name":{"product_id":"snake-in-img"},"product_reference":"snake","relates_to_product_reference":"img"}]},` +
		`"vulnerabilities":[{"cve":"CVE-2022-1471","product_status":{"fixed":["snake-in-img"],"known_not_affected":["snake"]},"flags":[{"label":"component_not_present","product_ids":["snake"]}],` +
		`"threats":[{"category":"impact","details":"x","product_ids":["snake"]}]}]}`))
}

// FuzzParse: any input either parses or fails with an error; applying a
// parsed document never panics.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		fs := []match.Finding{finding("CVE-2023-38545", []string{"GHSA-x"}, "deb", "curl", "1.0", "pkg:deb/ubuntu/curl@1.0?arch=source", "curl", "1.0")}
		Apply([]*Document{d}, fs, Target{ImageDigest: "sha256:00"})
	})
}

// FuzzPURLMatch: product matching on arbitrary purls never panics.
func FuzzPURLMatch(f *testing.F) {
	f.Add("pkg:maven/org.yaml/snakeyaml@1.33@pkg:oci/hbase@sha256%3Ae4a5", "pkg:maven/org.yaml/snakeyaml@1.33")
	f.Add("pkg:deb/ubuntu/curl@7.81.0?arch=source", "pkg:deb/ubuntu/libcurl4@7.81.0?upstream=curl")
	f.Add("@pkg:", "pkg:")
	f.Fuzz(func(t *testing.T, stmt, pkg string) {
		fi := finding("CVE-1", nil, "npm", "x", "1", pkg, "x", "1")
		samePackage(stmt, &fi)
		sameImage(stmt, "sha256:00")
	})
}
