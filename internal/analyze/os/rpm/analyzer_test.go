package rpm

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze"
)

func TestWants(t *testing.T) {
	for p, want := range map[string]bool{
		"var/lib/rpm/Packages":              true,
		"var/lib/rpm/rpmdb.sqlite":          true,
		"var/lib/rpm/Packages.db":           true,
		"usr/lib/sysimage/rpm/Packages.db":  true,
		"usr/lib/sysimage/rpm/rpmdb.sqlite": true,
		"usr/lib/sysimage/rpm/Packages":     true,
		"var/lib/rpm/Basenames":             false,
		"var/lib/rpm/rpmdb.sqlite-shm":      false,
		"opt/var/lib/rpm/Packages":          false,
	} {
		if got := (Analyzer{}).Wants(p, nil); got != want {
			t.Errorf("Wants(%s) = %v", p, got)
		}
	}
}

// sqliteFile builds a small SQLite database with the given statements and
// returns its bytes (written under the test's temp dir).
func sqliteFile(t *testing.T, stmts ...string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.sqlite")
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAnalyzeErrors: what is not an rpm database gets an error that
// names the file.
func TestAnalyzeErrors(t *testing.T) {
	for name, data := range map[string][]byte{
		"garbage":          []byte("hello, world, this is not a database at all"),
		"empty":            nil,
		"sqlite, no table": sqliteFile(t, "CREATE TABLE Other(x)"),
		"sqlite, a view":   sqliteFile(t, "CREATE TABLE t(blob)", "CREATE VIEW Packages AS SELECT blob FROM t"),
		"sqlite, bad blob": sqliteFile(t, "CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB)", "INSERT INTO Packages VALUES (1, x'0000000100000000')"),
		"ndb, truncated":   fixtureDBs(t)[NDB][:5000],
		"bdb, truncated":   fixtureDBs(t)[BerkeleyDB][:300],
	} {
		t.Run(name, func(t *testing.T) {
			path := "var/lib/rpm/rpmdb.sqlite"
			_, err := Analyzer{}.Analyze(context.Background(), analyze.File{Path: path, Content: bytes.NewReader(data)})
			if err == nil || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s", err, path)
			}
			t.Log(err)
		})
	}
}

// TestSQLiteRollbackJournal: a database that is not in WAL mode (the
// fixture is) reads the same way.
func TestSQLiteRollbackJournal(t *testing.T) {
	blob := nevra("demo", 0)
	data := sqliteFile(t, "CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB)")
	p := filepath.Join(t.TempDir(), "y.sqlite")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO Packages VALUES (1, ?)", blob); err != nil {
		t.Fatal(err)
	}
	db.Close()
	data, _ = os.ReadFile(p)
	if data[18] != 1 {
		t.Fatalf("journal mode byte %d", data[18])
	}
	pkgs, err := ParseDatabase(context.Background(), data)
	if err != nil || len(pkgs) != 1 || pkgs[0].Name != "demo" {
		t.Fatalf("got %+v, %v", pkgs, err)
	}
}
