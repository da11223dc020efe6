package policy_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	_ "github.com/stella-scan/stella/internal/analyze/all"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/scan"
)

// The shared test DB is built once for this binary (external test
// package: scan may import policy).
func TestMain(m *testing.M) { matchtest.Main(m) }

// Real scan results of the fixture images, decided by the default bundle:
// the deny reasons cite exactly the vulnerable findings that are HIGH or
// CRITICAL with a fix, or in KEV; waiving every one of them for the image
// lets it pass; an org deny in another package fails it again.
func TestRealScanResults(t *testing.T) {
	db := matchtest.Open(t)
	for _, img := range []string{"debian-app", "alpine-3.10-old", "polyglot-lockfiles"} {
		t.Run(img, func(t *testing.T) {
			target := "oci:" + filepath.Join(analyzetest.ImageDir(t, img), "oci")
			r, err := scan.Scan(context.Background(), target, scan.ScanOptions{DB: db, StellaVersion: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Findings) == 0 {
				t.Fatalf("no findings in %s: the fixture images all have known vulnerabilities", img)
			}
			var want []string
			for i := range r.Findings {
				f := &r.Findings[i]
				hi := f.Severity.Label == "CRITICAL" || f.Severity.Label == "HIGH"
				if f.Vulnerable() && ((hi && len(f.FixedVersions) > 0) || f.KEV != nil) {
					want = append(want, f.ID)
				}
			}
			want = uniq(want)
			in := policy.FromResult(r)
			e, err := policy.Load(context.Background(), policy.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d, err := e.Evaluate(context.Background(), &in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range d.Deny {
				got = append(got, x.Cites()...)
			}
			got = uniq(got)
			if !slices.Equal(got, want) {
				t.Errorf("deny cites %v, want %v", got, want)
			}
			if (len(want) > 0) != (d.Verdict == policy.VerdictFail) {
				t.Errorf("verdict %s with %d deny findings", d.Verdict, len(want))
			}
			t.Logf("%d findings: %s", len(r.Findings), d.Summary())
			if len(want) == 0 {
				return
			}

			// Waive them all for this image until far ahead.
			dir := t.TempDir()
			ws := `{"stella": {"waivers": [`
			for i, id := range want {
				if i > 0 {
					ws += ","
				}
				ws += `{"id": "` + id + `", "image": "` + in.Image.Name + `", "until": "2999-12-31"}`
			}
			ws += `]}}`
			if err := os.WriteFile(filepath.Join(dir, "waivers.json"), []byte(ws), 0o644); err != nil {
				t.Fatal(err)
			}
			e, err = policy.Load(context.Background(), policy.Options{Dirs: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			d, err = e.Evaluate(context.Background(), &in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Verdict == policy.VerdictFail || len(d.Waived) == 0 {
				t.Errorf("with every deny finding waived: %s", d.Summary())
			}

			// deny in any package fails the scan again.
			org := `package acme.base

deny contains msg if {
	some p in input.sbom.packages
	p.ecosystem in {"deb", "apk"}
	msg := sprintf("OS package %s: use a distroless base", [p.name])
}
`
			if err := os.WriteFile(filepath.Join(dir, "base.rego"), []byte(org), 0o644); err != nil {
				t.Fatal(err)
			}
			e, err = policy.Load(context.Background(), policy.Options{Dirs: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			d, err = e.Evaluate(context.Background(), &in)
			if err != nil {
				t.Fatal(err)
			}
			os := 0
			for _, p := range r.SBOM.Packages {
				if p.Ecosystem == "deb" || p.Ecosystem == "apk" {
					os++
				}
			}
			if (os > 0) != (d.Verdict == policy.VerdictFail) {
				t.Errorf("org rule: %d OS packages, verdict %s", os, d.Verdict)
			}
		})
	}
}

func uniq(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}
