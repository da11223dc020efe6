package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
)

// `stella db sync --mirror` of the real feeds, then `stella scan`: exit
// codes, the missing-DB message, --fail-on, --severity, --ignore-unfixed,
// and SARIF / CycloneDX output valid against the official schemas.
func TestScanCommand(t *testing.T) {
	shared := analyzetest.SharedDir(t)
	db := filepath.Join(t.TempDir(), "stella.db")
	if out, code := run(t, "db", "sync", "--mirror", filepath.Join(shared, "testdata", "feeds"), "--db", db); code != 0 {
		t.Fatalf("db sync: exit %d: %s", code, out)
	}
	alpine := "oci:" + filepath.Join(shared, "testdata", "images", "alpine-3.10-old", "oci")

	missing := filepath.Join(t.TempDir(), "none.db")
	out, code := run(t, "scan", "--db", missing, alpine)
	if code != exitInput || !strings.Contains(out, "stella db sync --db "+missing) {
		t.Errorf("missing DB: exit %d, %q", code, out)
	}

	out, code = run(t, "scan", "--db", db, "-f", "json", alpine)
	if code != 0 {
		t.Fatalf("scan: exit %d: %s", code, out)
	}
	var res struct {
		Findings []struct {
			ID            string   `json:"id"`
			FixedVersions []string `json:"fixedVersions"`
			Severity      struct{ Label string }
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// 19 findings derived in internal/scan TestScanAlpine310Old.
	if len(res.Findings) != 19 {
		t.Errorf("%d findings, want 19", len(res.Findings))
	}

	// --fail-on: musl's CVE-2019-14697 is CRITICAL (NVD 9.8) -> exit 1,
	// after the report is written.
	out, code = run(t, "scan", "--db", db, "--fail-on", "critical", alpine)
	if code != exitFail || !strings.Contains(out, "CVE-2019-14697") {
		t.Errorf("--fail-on critical: exit %d: %s", code, out)
	}
	// --severity low: none of these findings is LOW -> no findings, exit 0
	// even with --fail-on critical (the filter runs first).
	out, code = run(t, "scan", "--db", db, "--severity", "low", "--fail-on", "critical", "-f", "json", alpine)
	if code != 0 || !strings.Contains(out, `"findings": []`) {
		t.Errorf("--severity low: exit %d: %.300s", code, out)
	}
	if _, code = run(t, "scan", "--db", db, "--fail-on", "severe", alpine); code != exitUsage {
		t.Errorf("--fail-on severe: exit %d, want %d", code, exitUsage)
	}
	if _, code = run(t, "scan", "--db", db, "-f", "xml", alpine); code != exitUsage {
		t.Errorf("-f xml: exit %d, want %d", code, exitUsage)
	}

	for format, schema := range map[string]string{"sarif": "sarif-2.1.0.schema.json", "cyclonedx-json": "cyclonedx-bom-1.6.schema.json", "spdx-json": "spdx-2.3.schema.json"} {
		out, code := run(t, "scan", "--db", db, "-f", format, alpine)
		if code != 0 {
			t.Fatalf("-f %s: exit %d: %s", format, code, out)
		}
		sbomtest.Validate(t, sbomtest.Schema(t, schema), []byte(out))
	}
}

// `stella scan --policy`: the default bundle fails debian-app (critical
// minimist with a fix, KEV x/net) with exit 1 and writes the verdict into
// the result; a policy with a syntax error exits 3 naming file:line.
func TestScanPolicy(t *testing.T) {
	shared := analyzetest.SharedDir(t)
	db := filepath.Join(t.TempDir(), "stella.db")
	if out, code := run(t, "db", "sync", "--mirror", filepath.Join(shared, "testdata", "feeds"), "--db", db); code != 0 {
		t.Fatalf("db sync: exit %d: %s", code, out)
	}
	app := "oci:" + filepath.Join(shared, "testdata", "images", "debian-app", "oci")
	empty := t.TempDir()
	out, code := run(t, "scan", "--db", db, "--policy", empty, "-f", "json", app)
	if code != exitFail || !strings.Contains(out, "policy: fail") || !strings.Contains(out, `"decision": "fail"`) {
		t.Fatalf("default bundle: exit %d, %.300s", code, out)
	}
	if !strings.Contains(out, "CVE-2021-44906") {
		t.Error("deny reasons do not cite minimist's CVE-2021-44906")
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "broken.rego"), []byte("package org\n\ndeny contains msg if {\n"), 0o644)
	out, code = run(t, "scan", "--db", db, "--policy", bad, app)
	if code != exitInput || !strings.Contains(out, "broken.rego:") {
		t.Errorf("broken policy: exit %d, %.300s", code, out)
	}
}

// Scanning the CycloneDX SBOM of an image gives the same findings as
// scanning the image.
func TestScanSBOMFile(t *testing.T) {
	shared := analyzetest.SharedDir(t)
	db := filepath.Join(t.TempDir(), "stella.db")
	if out, code := run(t, "db", "sync", "--mirror", filepath.Join(shared, "testdata", "feeds"), "--db", db); code != 0 {
		t.Fatalf("db sync: exit %d: %s", code, out)
	}
	for _, img := range []string{"debian-app", "alpine-3.10-old", "debian-bullseye-old"} {
		target := "oci:" + filepath.Join(shared, "testdata", "images", img, "oci")
		ids := func(out string) []string {
			var r struct {
				Findings []struct {
					ID      string `json:"id"`
					Package struct{ Name string }
				} `json:"findings"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%s: %v", img, err)
			}
			var s []string
			for _, f := range r.Findings {
				s = append(s, f.ID+" "+f.Package.Name)
			}
			sort.Strings(s)
			return s
		}
		direct, code := run(t, "scan", "--db", db, "-f", "json", target)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", img, code, direct)
		}
		bom, _ := run(t, "sbom", "-f", "cyclonedx-json", target)
		f := filepath.Join(t.TempDir(), img+".cdx.json")
		os.WriteFile(f, []byte(bom), 0o600)
		viaSBOM, code := run(t, "scan", "--db", db, "-f", "json", "sbom:"+f)
		if code != 0 {
			t.Fatalf("%s sbom: exit %d %s", img, code, viaSBOM)
		}
		a, b := ids(direct), ids(viaSBOM)
		if len(a) == 0 || strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Errorf("%s: image gives %d findings, its SBOM %d:\n%v\nvs\n%v", img, len(a), len(b), a, b)
		}
	}
}
