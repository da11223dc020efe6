package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/sbom/sbomtest"
)

// run executes the stella command line and returns stdout and the exit
// code main would use.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	t.Setenv("STELLA_CACHE", t.TempDir())
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String() + err.Error(), ee.code
	}
	return out.String() + err.Error(), exitUsage
}

// `stella sbom` output of real scans validates against the official
// CycloneDX 1.6 / 1.5 and SPDX 2.3 JSON schemas.
func TestSBOMOutputSchemas(t *testing.T) {
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	schemas := map[string]string{
		"cyclonedx-json":     "cyclonedx-bom-1.6.schema.json",
		"cyclonedx-1.5-json": "cyclonedx-bom-1.5.schema.json",
		"spdx-json":          "spdx-2.3.schema.json",
	}
	targets := []string{
		"oci:" + filepath.Join(images, "debian-app", "oci"),
		"oci:" + filepath.Join(images, "polyglot-lockfiles", "oci"),
		"oci:" + filepath.Join(images, "amazonlinux-2023-rpm-sqlite", "oci"),
		"docker-archive:" + filepath.Join(images, "alpine-3.14-apk", "alpine-3.14-apk.docker.tar.gz"),
	}
	for format, file := range schemas {
		s := sbomtest.Schema(t, file)
		for _, target := range targets {
			t.Run(format+"/"+filepath.Base(filepath.Dir(strings.TrimPrefix(target, "oci:"))), func(t *testing.T) {
				out, code := run(t, "sbom", "-f", format, target)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, out)
				}
				sbomtest.Validate(t, s, []byte(out))
				var doc struct {
					Components []json.RawMessage `json:"components"`
					Packages   []json.RawMessage `json:"packages"`
				}
				json.Unmarshal([]byte(out), &doc)
				if len(doc.Components)+len(doc.Packages) < 20 {
					t.Errorf("only %d components/packages", len(doc.Components)+len(doc.Packages))
				}
			})
		}
	}
}

// An SBOM converts: CycloneDX in, SPDX out, the same packages.
func TestSBOMConvert(t *testing.T) {
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	cdx, code := run(t, "sbom", "-f", "cyclonedx-json", "oci:"+filepath.Join(images, "debian-app", "oci"))
	if code != 0 {
		t.Fatal(cdx)
	}
	f := filepath.Join(t.TempDir(), "x.cdx.json")
	os.WriteFile(f, []byte(cdx), 0o600)
	table1, _ := run(t, "sbom", "-f", "table", "oci:"+filepath.Join(images, "debian-app", "oci"))
	for _, target := range []string{"sbom:" + f, f} {
		spdxOut, code := run(t, "sbom", "-f", "spdx-json", target)
		if code != 0 {
			t.Fatalf("%s: exit %d %s", target, code, spdxOut)
		}
		sbomtest.Validate(t, sbomtest.Schema(t, "spdx-2.3.schema.json"), []byte(spdxOut))
		sf := filepath.Join(t.TempDir(), "x.spdx.json")
		os.WriteFile(sf, []byte(spdxOut), 0o600)
		table2, _ := run(t, "sbom", "-f", "table", sf)
		if n1, n2 := strings.Count(table1, "\n"), strings.Count(table2, "\n"); n1 != n2 {
			t.Errorf("%s: image has %d table lines, CycloneDX->SPDX->table has %d", target, n1, n2)
		}
	}
}

// Exit codes: 2 usage, 3 unreadable input naming it.
func TestSBOMExitCodes(t *testing.T) {
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sbom", "-f", "nope", "dir:/"}, exitUsage, "-f"},
		{[]string{"sbom"}, exitUsage, "arg"},
		{[]string{"sbom", "oci:" + filepath.Join(images, "malicious", "digest-mismatch")}, exitInput, "digest mismatch"},
		{[]string{"sbom", "sbom:/nonexistent/x.json"}, exitInput, "/nonexistent/x.json"},
		{[]string{"sbom", "--sbom-source", "bogus", "dir:/"}, exitUsage, "--sbom-source"},
	}
	for _, c := range cases {
		out, code := run(t, c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d (%q), want %d with %q", c.args, code, out, c.code, c.want)
		}
	}
}

// -o writes atomically: the file appears whole.
func TestSBOMOutputFile(t *testing.T) {
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	out := filepath.Join(t.TempDir(), "sbom.json")
	if o, code := run(t, "sbom", "-f", "json", "-o", out, "oci:"+filepath.Join(images, "whiteouts", "oci")); code != 0 {
		t.Fatal(o)
	}
	b, err := os.ReadFile(out)
	if err != nil || !json.Valid(b) {
		t.Fatalf("output file: %v, valid JSON %v", err, json.Valid(b))
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}
}
