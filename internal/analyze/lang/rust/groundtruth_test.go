package rust

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
)

// expectedRows returns "ecosystem\tname\tversion\tpath" for every row of
// expected/<image>.packages.tsv whose ecosystem is eco.
func expectedRows(t *testing.T, image, eco string) []string {
	t.Helper()
	return tsvRows(t, image+".packages.tsv", eco)
}

// optionalRows is expectedRows for expected/<image>.optional.tsv.
func optionalRows(t *testing.T, image, eco string) []string {
	t.Helper()
	return tsvRows(t, image+".optional.tsv", eco)
}

func tsvRows(t *testing.T, name, eco string) []string {
	t.Helper()
	file := filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "expected", name)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 5 || c[0] != eco {
			continue
		}
		rows = append(rows, strings.Join([]string{c[0], c[1], c[2], c[4]}, "\t"))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(rows)
	return rows
}

// diffRows fails the test with the rows missing from got and the extra ones.
func diffRows(t *testing.T, got, want []string) {
	t.Helper()
	g, w := map[string]bool{}, map[string]bool{}
	for _, r := range got {
		g[r] = true
	}
	for _, r := range want {
		w[r] = true
	}
	var missing, extra []string
	for r := range w {
		if !g[r] {
			missing = append(missing, r)
		}
	}
	for r := range g {
		if !w[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	t.Logf("recall %d/%d, precision %d/%d", len(w)-len(missing), len(w), len(g)-len(extra), len(g))
	if len(missing) > 0 {
		t.Errorf("missing %d rows:\n  %s", len(missing), strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("%d rows not in the ground truth:\n  %s", len(extra), strings.Join(extra, "\n  "))
	}
	if len(got) != len(g) {
		t.Errorf("%d rows reported more than once", len(got)-len(g))
	}
}
