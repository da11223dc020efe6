package rpm

import (
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/os/ostest"
	"github.com/stella-scan/stella/internal/sbom"
)

// TestGroundTruth compares the packages of each rpm fixture's database
// (one per format) with expected/<image>.packages.tsv.
func TestGroundTruth(t *testing.T) {
	for _, image := range []string{
		"amazonlinux-2023-rpm-sqlite",
		"sles-15.3-rpm-ndb",
		"rhel-8.4-ubi-micro-rpm-bdb",
	} {
		t.Run(image, func(t *testing.T) {
			want := ostest.Expected(t, image+".packages.tsv", "ecosystem", "name", "version", "path")
			pkgs := ostest.Packages(ostest.Results(t, Analyzer{}, image))
			got := ostest.Rows(pkgs, func(p *sbom.Package) []string {
				return []string{p.Ecosystem, p.Name, p.Version, strings.Join(p.Paths, ",")}
			})
			ostest.Compare(t, image, want, got)
			for _, p := range pkgs {
				if p.Arch == "" || p.SourceName == "" || p.SourceVersion == "" || len(p.Licenses) == 0 {
					t.Errorf("%s: arch %q source %q %q licences %v", p.Name, p.Arch, p.SourceName, p.SourceVersion, p.Licenses)
				}
			}
		})
	}
}
