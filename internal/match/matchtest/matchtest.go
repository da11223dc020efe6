// Package matchtest builds the vulnerability DB that matcher, scan and
// report tests share: every connector over the real feed documents in
// ../shared/testdata/feeds, once per test binary, in a temp dir.
package matchtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/feed"
	_ "github.com/stella-scan/stella/internal/feed/all"
	_ "github.com/stella-scan/stella/internal/feed/alpine"
	_ "github.com/stella-scan/stella/internal/feed/debian"
	_ "github.com/stella-scan/stella/internal/feed/ubuntu"
	"github.com/stella-scan/stella/internal/vulndb"
)

// Sources are the connectors the test DB is built from.
var Sources = []string{"nvd", "osv", "debian", "alpine", "ubuntu", "kev", "epss"}

var (
	once    sync.Once
	dir     string
	path    string
	buildEr error
)

// FeedsDir is ../shared/testdata/feeds.
func FeedsDir(t testing.TB) string {
	return filepath.Join(analyzetest.SharedDir(t), "testdata", "feeds")
}

// Path returns the test DB file, building it on first use.
func Path(t testing.TB) string {
	t.Helper()
	feeds := FeedsDir(t)
	once.Do(func() {
		dir, buildEr = os.MkdirTemp("", "stella-matchtest-")
		if buildEr != nil {
			return
		}
		var cs []feed.Connector
		for _, n := range Sources {
			c, err := feed.Lookup(n)
			if err != nil {
				buildEr = err
				return
			}
			cs = append(cs, c)
		}
		path = filepath.Join(dir, "stella.db")
		_, buildEr = vulndb.Sync(context.Background(), vulndb.SyncOptions{
			Path: path, Full: true, Connectors: cs, Source: feed.Source{Mirror: feeds},
		})
	})
	if buildEr != nil {
		t.Fatalf("build test DB from %s: %v", feeds, buildEr)
	}
	return path
}

// Open opens the test DB; it is closed when the test ends.
func Open(t testing.TB) *vulndb.DB {
	t.Helper()
	db, err := vulndb.Open(Path(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Main runs the tests and removes the DB afterwards; call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
