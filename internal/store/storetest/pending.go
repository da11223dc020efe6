package storetest

import (
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/store"
)

// RunPending checks store.Pending: queued and running scans of every
// tenant, oldest first, bounded by the limit; finished ones never.
func RunPending(t *testing.T, open func(t *testing.T) store.Store) {
	st := open(t)
	defer st.Close()
	p, ok := st.(store.Pending)
	if !ok {
		t.Fatalf("%T does not implement store.Pending", st)
	}
	queued := newScan("acme", "a:1", base.Add(3*time.Minute))
	running := newScan("globex", "b:1", base.Add(time.Minute))
	done := newScan("acme", "c:1", base)
	failed := newScan("acme", "d:1", base.Add(2*time.Minute))
	for _, s := range []*store.Scan{queued, running, done, failed} {
		mustCreate(t, st, s)
	}
	running.State = store.StateRunning
	failed.State, failed.Error = store.StateFailed, "boom"
	for _, s := range []*store.Scan{running, failed} {
		if err := st.UpdateScan(ctx(t), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CompleteScan(ctx(t), "acme", done.ID, Result("c:1", "sha256:cc")); err != nil {
		t.Fatal(err)
	}
	got, err := p.PendingScans(ctx(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.Tenant+"/"+s.ID)
	}
	want := []string{"globex/" + running.ID, "acme/" + queued.ID}
	if len(ids) != 2 || ids[0] != want[0] || ids[1] != want[1] {
		t.Fatalf("pending = %v, want %v", ids, want)
	}
	if len(got[1].Request) == 0 {
		t.Fatal("pending scans come without their stored request")
	}
	if got, err := p.PendingScans(ctx(t), 1); err != nil || len(got) != 1 {
		t.Fatalf("limit 1 = %d scans, %v", len(got), err)
	}
}
