package dpkg

import (
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/os/ostest"
	"github.com/stella-scan/stella/internal/sbom"
)

// TestGroundTruth runs the analyzer over the final (flattened) file system
// of every Debian fixture image and compares the packages with
// expected/<image>.packages.tsv (ecosystem, name, version, path; plus the
// source columns where the file has them).
func TestGroundTruth(t *testing.T) {
	for _, tc := range []struct {
		image  string
		source bool // the TSV has source and source_version columns
	}{
		{"debian-app", false},
		{"debian-app-v2", false},
		{"distroless", false},
		{"debian-bullseye-old", true},
		{"whiteouts", false},
		{"zstd", false},
		{"multiarch", false}, // first manifest: linux/amd64
	} {
		t.Run(tc.image, func(t *testing.T) {
			file := tc.image + ".packages.tsv"
			if tc.image == "multiarch" {
				file = "multiarch.linux-amd64.packages.tsv"
			}
			cols := []string{"ecosystem", "name", "version", "path"}
			if tc.source {
				cols = append(cols, "source", "source_version")
			}
			var want []string
			for _, r := range ostest.Expected(t, file, cols...) {
				if strings.HasPrefix(r, "deb\t") {
					want = append(want, r)
				}
			}
			pkgs := ostest.Packages(ostest.Results(t, Analyzer{}, tc.image))
			got := ostest.Rows(pkgs, func(p *sbom.Package) []string {
				r := []string{p.Ecosystem, p.Name, p.Version, strings.Join(p.Paths, ",")}
				if tc.source {
					r = append(r, p.SourceName, p.SourceVersion)
				}
				return r
			})
			ostest.Compare(t, tc.image, want, got)
		})
	}
}

// TestOwnership checks the file lists of debian-app: every installed
// package has one, names lose their :arch, paths are relative and clean,
// and the Python metadata of python3-yaml is owned by it.
func TestOwnership(t *testing.T) {
	res := ostest.Results(t, Analyzer{}, "debian-app")
	owned := map[string][]string{}
	for p, r := range res {
		if !strings.HasPrefix(p, infoDir) {
			continue
		}
		if len(r.Ownership) != 1 || len(r.Packages) != 0 {
			t.Fatalf("%s: want one ownership record, got %+v", p, r)
		}
		o := r.Ownership[0]
		if o.Ecosystem != sbom.Deb || strings.Contains(o.Name, ":") {
			t.Errorf("%s: ownership %s/%s", p, o.Ecosystem, o.Name)
		}
		for _, f := range o.Files {
			if f == "" || f == "." || strings.HasPrefix(f, "/") || strings.Contains(f, "//") {
				t.Errorf("%s: bad path %q", p, f)
			}
		}
		owned[o.Name] = o.Files
	}
	var pkgNames, listNames []string
	for _, p := range ostest.Packages(res) {
		pkgNames = append(pkgNames, p.Name)
	}
	for n := range owned {
		listNames = append(listNames, n)
	}
	sort.Strings(pkgNames)
	sort.Strings(listNames)
	if strings.Join(pkgNames, " ") != strings.Join(listNames, " ") {
		t.Errorf("packages and file lists differ:\n packages %v\n lists    %v", pkgNames, listNames)
	}
	for _, c := range []struct{ pkg, file string }{
		{"libc6", "lib/x86_64-linux-gnu/libc.so.6"},
		{"base-files", "etc/debian_version"},
		{"python3-yaml", "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"},
	} {
		if !contains(owned[c.pkg], c.file) {
			t.Errorf("%s does not own %s (has %d files)", c.pkg, c.file, len(owned[c.pkg]))
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
