package python

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

// seedFiles returns the Python files of the fixture images and testdata/.
func seedFiles(f *testing.F) map[string][]byte {
	seedOnce.Do(func() {
		seeds = map[string][]byte{}
		for _, image := range []string{"debian-app", "polyglot-lockfiles"} {
			for p, b := range analyzetest.Files(f, filepath.Join(analyzetest.ImageDir(f, image), "oci"), func(p string) bool {
				return Analyzer{}.Wants(p, nil)
			}) {
				seeds[p] = b
			}
		}
		ents, _ := os.ReadDir("testdata")
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil && !strings.HasSuffix(e.Name(), ".want") {
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

func FuzzParseMetadata(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.Contains(p, "METADATA") || strings.Contains(p, "PKG-INFO") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseMetadata(bytes.NewReader(b))
	})
}

func FuzzParsePoetryLock(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.Contains(p, "poetry") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePoetryLock(bytes.NewReader(b))
	})
}

func FuzzParsePipfileLock(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.HasSuffix(p, "Pipfile.lock") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParsePipfileLock(bytes.NewReader(b))
	})
}

func FuzzParseRequirements(f *testing.F) {
	addSeeds(f, func(p string) bool { return strings.Contains(p, "requirements") })
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseRequirements(bytes.NewReader(b))
	})
}
