package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/queue/memory"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
)

// The account rules the gateway applies after authentication: a disabled
// tenant or user is refused as a bad credential, a stored role caps the
// claimed one (never raises it), and a tenant's quota overrides replace
// the server's.
func TestCheckAccountAndLimits(t *testing.T) {
	s, st := sqliteServer(t, QuotaConfig{RequestsPerMinute: 100, ScansPerDay: 10})
	ctx := t.Context()
	put := func(u store.User) {
		if err := st.PutUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	put(store.User{Tenant: "acme", Subject: "capped", Role: RoleViewer})
	put(store.User{Tenant: "acme", Subject: "low", Role: RoleAdmin})
	put(store.User{Tenant: "acme", Subject: "off", Role: RoleAdmin, Disabled: true})
	if err := st.PutTenant(ctx, &store.Tenant{Name: "closed", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutTenant(ctx, &store.Tenant{Name: "big", ScansPerDay: 500}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		p        Principal
		role     string // "" = refused
		refusal  string
		original bool
	}{
		{Principal{Subject: "capped", Tenant: "acme", Role: RoleAdmin}, RoleViewer, "", false},
		{Principal{Subject: "low", Tenant: "acme", Role: RoleScanner}, RoleScanner, "", true},
		{Principal{Subject: "nobody", Tenant: "acme", Role: RoleAdmin}, RoleAdmin, "", true},
		{Principal{Subject: "capped", Tenant: "globex", Role: RoleAdmin}, RoleAdmin, "", true},
		{Principal{Subject: "off", Tenant: "acme", Role: RoleViewer}, "", "user off is disabled in tenant acme", false},
		{Principal{Subject: "anyone", Tenant: "closed", Role: RoleAdmin}, "", "tenant closed is disabled", false},
	}
	for _, c := range cases {
		p := c.p
		got, err := s.checkAccount(ctx, &p)
		if c.role == "" {
			var ae *authError
			if !errors.As(err, &ae) || ae.msg != c.refusal {
				t.Errorf("%s/%s: %v, want the refusal %q", p.Tenant, p.Subject, err, c.refusal)
			}
			continue
		}
		if err != nil || got.Role != c.role || got.Subject != p.Subject || got.Tenant != p.Tenant {
			t.Errorf("%s/%s: %+v, %v; want role %s", p.Tenant, p.Subject, got, err, c.role)
		}
		if (got == &p) != c.original || p.Role != c.p.Role {
			t.Errorf("%s/%s: the caller's principal was changed or needlessly copied", p.Tenant, p.Subject)
		}
	}

	for tenant, want := range map[string][2]int{"big": {100, 500}, "acme": {100, 10}} {
		if rpm, spd := s.tenantLimits(ctx, tenant); rpm != want[0] || spd != want[1] {
			t.Errorf("limits of %s: %d/min %d/day, want %v", tenant, rpm, spd, want)
		}
	}
}

// BenchmarkCheckAccount is the per-request cost of the account rules and
// the tenant's limits: three primary-key look-ups in SQLite.
func BenchmarkCheckAccount(b *testing.B) {
	s, st := sqliteServer(b, QuotaConfig{})
	ctx := b.Context()
	if err := st.PutUser(ctx, &store.User{Tenant: "acme", Subject: "ada", Role: RoleScanner}); err != nil {
		b.Fatal(err)
	}
	if err := st.PutTenant(ctx, &store.Tenant{Name: "acme", ScansPerDay: 5}); err != nil {
		b.Fatal(err)
	}
	p := &Principal{Subject: "ada", Tenant: "acme", Role: RoleAdmin}
	for b.Loop() {
		if got, err := s.checkAccount(ctx, p); err != nil || got.Role != RoleScanner {
			b.Fatal(got, err)
		}
		if _, spd := s.tenantLimits(ctx, "acme"); spd != 5 {
			b.Fatal(spd)
		}
	}
}

// The account cache: reads are reused for the TTL (a write through
// another gateway shows after it), this process's writes show at once,
// and a missing record is cached as missing.
func TestAccountCache(t *testing.T) {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	c := newAccountCache(st, 2*time.Second)
	now := time.Now()
	c.now = func() time.Time { return now }
	if _, err := c.GetUser(ctx, "acme", "ada"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent user: %v", err)
	}
	// Another process stores ada: not seen until the TTL passes.
	if err := st.PutUser(ctx, &store.User{Tenant: "acme", Subject: "ada", Role: RoleViewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, "acme", "ada"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("within the TTL the absence is reused: %v", err)
	}
	now = now.Add(3 * time.Second)
	u, err := c.GetUser(ctx, "acme", "ada")
	if err != nil || u.Role != RoleViewer {
		t.Fatalf("after the TTL: %+v, %v", u, err)
	}
	u.Role = RoleAdmin // the caller's copy
	if again, _ := c.GetUser(ctx, "acme", "ada"); again.Role != RoleViewer {
		t.Fatal("a caller changed the cached record")
	}
	// This process's writes apply at once.
	if err := c.PutUser(ctx, &store.User{Tenant: "acme", Subject: "ada", Role: RoleScanner, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if u, err := c.GetUser(ctx, "acme", "ada"); err != nil || !u.Disabled || u.Role != RoleScanner {
		t.Fatalf("after PutUser: %+v, %v", u, err)
	}
	if err := c.DeleteUser(ctx, "acme", "ada"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, "acme", "ada"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after DeleteUser: %v", err)
	}
	if _, err := c.GetTenant(ctx, "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if err := c.PutTenant(ctx, &store.Tenant{Name: "acme", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	if tn, err := c.GetTenant(ctx, "acme"); err != nil || !tn.Disabled {
		t.Fatalf("after PutTenant: %+v, %v", tn, err)
	}
}

// slowAccounts blocks the first GetUser until release is closed, after
// signalling started: a read racing with a write.
type slowAccounts struct {
	store.Store
	store.Accounts
	started, release chan struct{}
	once             sync.Once
}

func (s *slowAccounts) GetUser(ctx context.Context, tenant, subject string) (*store.User, error) {
	u, err := s.Accounts.GetUser(ctx, tenant, subject)
	s.once.Do(func() { close(s.started); <-s.release })
	return u, err
}

// A read that fetched a record before this process changed it is not
// cached: the change applies to the next request, not a TTL later.
func TestAccountCacheReadRacingWrite(t *testing.T) {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	if err := st.PutUser(ctx, &store.User{Tenant: "acme", Subject: "bob", Role: RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	slow := &slowAccounts{Store: st, Accounts: st, started: make(chan struct{}), release: make(chan struct{})}
	c := newAccountCache(slow, time.Hour)
	done := make(chan *store.User)
	go func() {
		u, _ := c.GetUser(ctx, "acme", "bob")
		done <- u
	}()
	<-slow.started // the read has the enabled record
	if err := c.PutUser(ctx, &store.User{Tenant: "acme", Subject: "bob", Role: RoleAdmin, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	close(slow.release)
	if u := <-done; u == nil || u.Disabled {
		t.Fatalf("the racing read: %+v", u)
	}
	if u, err := c.GetUser(ctx, "acme", "bob"); err != nil || !u.Disabled {
		t.Fatalf("after the write: %+v, %v; the racing read's stale record was cached", u, err)
	}
}

// A stored role the server does not know grants nothing.
func TestCheckAccountUnknownRole(t *testing.T) {
	s, st := sqliteServer(t, QuotaConfig{})
	if err := st.PutUser(t.Context(), &store.User{Tenant: "acme", Subject: "odd", Role: "superuser"}); err != nil {
		t.Fatal(err)
	}
	var ae *authError
	if p, err := s.checkAccount(t.Context(), &Principal{Subject: "odd", Tenant: "acme", Role: RoleViewer}); !errors.As(err, &ae) {
		t.Fatalf("unknown stored role: %+v, %v; want a refusal", p, err)
	}
}

// sqliteServer is a gateway on a SQLite store (which keeps accounts) in
// a temporary directory, closed with the test.
func sqliteServer(tb testing.TB, quota QuotaConfig) (*Server, *sqlite.Store) {
	tb.Helper()
	st, err := sqlite.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	q := memory.New(time.Minute)
	tb.Cleanup(func() { q.Close() })
	s, err := New(Config{Store: st, Queue: q, Quota: quota})
	if err != nil {
		tb.Fatal(err)
	}
	return s, st
}
