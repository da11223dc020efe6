package apk

import (
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/os/ostest"
	"github.com/stella-scan/stella/internal/sbom"
)

// TestGroundTruth compares the packages of the final database of each
// Alpine fixture with expected/<image>.packages.tsv (plus the origin,
// column "source", where the file has it).
func TestGroundTruth(t *testing.T) {
	for _, tc := range []struct {
		image  string
		source bool
	}{
		{"alpine-3.14-apk", false},
		{"alpine-3.10-old", true},
	} {
		t.Run(tc.image, func(t *testing.T) {
			cols := []string{"ecosystem", "name", "version", "path"}
			if tc.source {
				cols = append(cols, "source")
			}
			want := ostest.Expected(t, tc.image+".packages.tsv", cols...)
			pkgs := ostest.Packages(ostest.Results(t, Analyzer{}, tc.image))
			got := ostest.Rows(pkgs, func(p *sbom.Package) []string {
				r := []string{p.Ecosystem, p.Name, p.Version, strings.Join(p.Paths, ",")}
				if tc.source {
					r = append(r, p.SourceName)
				}
				return r
			})
			ostest.Compare(t, tc.image, want, got)
			for _, p := range pkgs {
				if p.Arch == "" || len(p.Licenses) == 0 {
					t.Errorf("%s: arch %q, licences %v", p.Name, p.Arch, p.Licenses)
				}
			}
		})
	}
}
