package sqlite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/store/storetest"
)

func TestAccountsContract(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

// A database of schema 1 (before accounts) gains the tables on open and
// keeps its scans.
func TestAccountsMigration(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateScan(t.Context(), &store.Scan{ID: "s1", Tenant: "acme", Target: "alpine:3.20"}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// Back to schema 1: no accounts tables.
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TABLE users; DROP TABLE tenants; UPDATE schema_version SET version = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err = sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, err := st.SchemaVersion(t.Context()); err != nil || v != 2 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	if err := st.PutTenant(t.Context(), &store.Tenant{Name: "acme", ScansPerDay: 3}); err != nil {
		t.Fatal(err)
	}
	if ten, err := st.GetTenant(t.Context(), "acme"); err != nil || ten.ScansPerDay != 3 {
		t.Fatalf("tenant %+v, %v", ten, err)
	}
	if sc, err := st.GetScan(t.Context(), "acme", "s1"); err != nil || sc.Target != "alpine:3.20" {
		t.Fatalf("the migration lost a scan: %+v, %v", sc, err)
	}
}
