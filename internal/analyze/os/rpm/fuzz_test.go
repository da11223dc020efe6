package rpm

import (
	"context"
	"math/rand"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
)

var (
	dbOnce sync.Once
	dbs    map[Format][]byte
)

// fixtureDBs returns the rpm database of each fixture image by format.
func fixtureDBs(t testing.TB) map[Format][]byte {
	dbOnce.Do(func() {
		dbs = map[Format][]byte{}
		for _, image := range []string{"amazonlinux-2023-rpm-sqlite", "sles-15.3-rpm-ndb", "rhel-8.4-ubi-micro-rpm-bdb"} {
			files := analyzetest.Files(t, filepath.Join(analyzetest.ImageDir(t, image), "oci"), func(p string) bool {
				return Analyzer{}.Wants(p, nil)
			})
			for _, b := range files {
				dbs[Detect(b)] = b
			}
		}
	})
	if len(dbs) != 3 || dbs[Unknown] != nil {
		t.Fatalf("fixture databases by format: want one of each, got %d", len(dbs))
	}
	return dbs
}

// TestCorruptDatabases truncates and damages each real database in many
// places: parsing may fail, but must neither panic nor hang.
func TestCorruptDatabases(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for f, data := range fixtureDBs(t) {
		if f == SQLite {
			continue // FuzzParseSQLite covers it; each run costs ~50 ms
		}
		for _, n := range []int{0, 10, 100, 511, 4096, len(data) / 2, len(data) - 1} {
			_, _ = ParseDatabase(context.Background(), data[:n])
		}
		for i := 0; i < 100; i++ {
			c := append([]byte(nil), data...)
			for j := 0; j < 8; j++ {
				c[rng.Intn(len(c))] = byte(rng.Intn(256))
			}
			_, _ = ParseDatabase(context.Background(), c)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	blobs, err := ndbValues(fixtureDBs(f)[NDB])
	if err != nil {
		f.Fatal(err)
	}
	for _, b := range blobs[:5] {
		f.Add(b)
	}
	f.Add(nevra("x", 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseHeaders([][]byte{b})
	})
}

func FuzzParseBDB(f *testing.F) {
	f.Add(fixtureDBs(f)[BerkeleyDB])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = bdbValues(b)
	})
}

func FuzzParseNDB(f *testing.F) {
	f.Add(fixtureDBs(f)[NDB])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ndbValues(b)
	})
}

func FuzzParseSQLite(f *testing.F) {
	f.Add(fixtureDBs(f)[SQLite])
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseDatabase(context.Background(), b)
	})
}
