package npm

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
)

var (
	seedOnce sync.Once
	seeds    map[string][]byte
)

// seedFiles returns the npm files of the fixture images plus testdata/,
// keyed by path.
func seedFiles(f *testing.F) map[string][]byte {
	seedOnce.Do(func() {
		seeds = map[string][]byte{}
		for _, image := range []string{"debian-app", "polyglot-lockfiles"} {
			files := analyzetest.Files(f, filepath.Join(analyzetest.ImageDir(f, image), "oci"), func(p string) bool {
				return Analyzer{}.Wants(p, nil) && (!strings.HasSuffix(p, "/package.json") || strings.HasSuffix(p, "/express/package.json"))
			})
			for p, b := range files {
				seeds[p] = b
			}
		}
		ents, _ := os.ReadDir("testdata")
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				seeds["testdata/"+e.Name()] = b
			}
		}
	})
	return seeds
}

func addSeeds(f *testing.F, match func(string) bool) {
	for p, b := range seedFiles(f) {
		if match(p) {
			f.Add(b)
		}
	}
}

func FuzzParsePackageJSON(f *testing.F) {
	addSeeds(f, func(p string) bool {
		return strings.HasSuffix(p, "package.json") || strings.HasSuffix(p, "object.json")
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePackageJSON(bytes.NewReader(b))
	})
}

func FuzzParsePackageLock(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.Contains(p, "package-lock") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePackageLock(bytes.NewReader(b), "app")
	})
}

func FuzzParseYarnLock(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.Contains(p, "yarn") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseYarnLock(bytes.NewReader(b))
	})
}

func FuzzParsePnpmLock(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.Contains(p, "pnpm-lock") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePnpmLock(bytes.NewReader(b))
	})
}
