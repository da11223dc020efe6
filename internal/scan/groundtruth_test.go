package scan

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/stella-scan/stella/internal/analyze/all"
	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/sbom"
)

// row is one ground-truth package: ecosystem, name, version, layer, path.
type row struct{ eco, name, version, layer, path string }

func readTSV(t *testing.T, file string) []row {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 5 {
			continue
		}
		rows = append(rows, row{c[0], c[1], c[2], c[3], c[4]})
	}
	return rows
}

// key of a package for recall and precision: ecosystem, name, version. A
// Go main module's "(devel)" may be written as an empty version.
func key(eco, name, version string) string {
	if version == "(devel)" {
		version = ""
	}
	return eco + " " + name + " " + version
}

// Each fixture image, in each format it is provided in, must yield exactly
// the packages of its ground truth (100% recall, 100% precision), each
// attributed to the right layer and file.
func TestGroundTruth(t *testing.T) {
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	expected := filepath.Join(images, "expected")
	type tc struct {
		name, target, platform, truth string
	}
	var cases []tc
	entries, err := os.ReadDir(expected)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".packages.tsv")
		if !ok {
			continue
		}
		img, platform := base, ""
		if i := strings.Index(base, ".linux-"); i >= 0 {
			img, platform = base[:i], strings.ReplaceAll(base[i+1:], "-", "/")
		}
		dir := filepath.Join(images, img)
		cases = append(cases, tc{base + "/oci", "oci:" + filepath.Join(dir, "oci"), platform, base})
		for _, a := range []string{img + ".docker.tar", img + ".docker.tar.gz"} {
			if _, err := os.Stat(filepath.Join(dir, a)); err == nil {
				cases = append(cases, tc{base + "/" + a, "docker-archive:" + filepath.Join(dir, a), platform, base})
			}
		}
	}
	if len(cases) < 14 {
		t.Fatalf("found only %d ground-truth cases under %s", len(cases), expected)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := readTSV(t, filepath.Join(expected, c.truth+".packages.tsv"))
			optional := readTSV(t, filepath.Join(expected, c.truth+".optional.tsv"))
			doc, _, err := SBOM(context.Background(), c.target, Options{Image: image.Options{Platform: c.platform}})
			if err != nil {
				t.Fatalf("sbom %s: %v", c.target, err)
			}
			compare(t, doc, want, optional)
			checkOS(t, doc, filepath.Join(expected, c.truth+".os.tsv"))
		})
	}
}

func compare(t *testing.T, doc *sbom.Document, want, optional []row) {
	t.Helper()
	wantSet := map[string]row{}
	for _, r := range want {
		wantSet[key(r.eco, r.name, r.version)] = r
	}
	opt := map[string]bool{}
	for _, r := range optional {
		opt[key(r.eco, r.name, r.version)] = true
	}
	got := map[string][]sbom.Package{}
	for _, p := range doc.Packages {
		k := key(p.Ecosystem, p.Name, p.Version)
		got[k] = append(got[k], p)
	}
	var missing, extra, wrongPlace []string
	for k := range wantSet {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	// Every row, including a package recorded in several files, must be
	// found in its layer and file.
	for _, r := range want {
		k := key(r.eco, r.name, r.version)
		ps, ok := got[k]
		if !ok {
			continue
		}
		placed := false
		for _, p := range ps {
			if fmt.Sprint(p.LayerIndex) == r.layer && contains(p.Paths, r.path) {
				placed = true
			}
		}
		if !placed {
			wrongPlace = append(wrongPlace, fmt.Sprintf("%s: want layer %s %s, got layer %d %v", k, r.layer, r.path, ps[0].LayerIndex, ps[0].Paths))
		}
	}
	for k, ps := range got {
		if _, ok := wantSet[k]; !ok && !opt[k] {
			extra = append(extra, fmt.Sprintf("%s (%v)", k, ps[0].Paths))
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(wrongPlace)
	tp := len(wantSet) - len(missing)
	t.Logf("recall %d/%d, precision %d/%d (%d rows placed in layer and file)", tp, len(wantSet), tp, tp+len(extra), len(want)-len(wrongPlace))
	if len(missing) > 0 {
		t.Errorf("missing %d packages (recall):\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("%d packages not in the ground truth (precision):\n  %s", len(extra), strings.Join(extra, "\n  "))
	}
	if len(wrongPlace) > 0 {
		t.Errorf("%d packages with the wrong layer or path:\n  %s", len(wrongPlace), strings.Join(wrongPlace, "\n  "))
	}
}

func checkOS(t *testing.T, doc *sbom.Document, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		if doc.Distro != nil {
			t.Errorf("distro %+v, want none", doc.Distro)
		}
		return
	}
	c := strings.Split(lines[1], "\t")
	if doc.Distro == nil {
		t.Fatalf("no distro, want %s %s", c[0], c[1])
	}
	if doc.Distro.ID != c[0] || doc.Distro.Version != c[1] {
		t.Errorf("distro %s %s, want %s %s", doc.Distro.ID, doc.Distro.Version, c[0], c[1])
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
