package sqlite_test

import (
	"testing"

	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &store.Scan{ID: "s1", Tenant: "acme", Target: "alpine:3.20", State: store.StateQueued}
	if err := st.CreateScan(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteScan(t.Context(), "acme", "s1", storetest.Result("alpine:3.20", "sha256:abcd")); err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(t.Context(), &store.Token{ID: "t1", Tenant: "acme", Subject: "a", Role: "admin", Name: "n", Hash: "hh"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	if v, err := st.SchemaVersion(t.Context()); err != nil || v != 2 {
		t.Fatalf("schema version = %d, %v", v, err)
	}
	got, err := st.GetScan(t.Context(), "acme", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateDone || got.Result == nil || len(got.Result.Findings) != 3 {
		t.Fatalf("reopened scan = %+v", got)
	}
	rows, _, err := st.Findings(t.Context(), store.FindingFilter{Tenant: "acme", CVE: "GO-2024-2687"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("reopened findings = %v, %v", rows, err)
	}
	if tok, err := st.TokenByHash(t.Context(), "hh"); err != nil || tok.ID != "t1" {
		t.Fatalf("reopened token = %v, %v", tok, err)
	}
}

func TestPending(t *testing.T) {
	storetest.RunPending(t, func(t *testing.T) store.Store {
		st, err := sqlite.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
