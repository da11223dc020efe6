package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/store"
)

// RunAccounts is the contract of store.Accounts: tenants and users
// created, replaced (keeping their creation time), listed in order,
// scoped by tenant (another tenant's user is not found), deleted, and
// concurrent writers of one record leave one consistent row. open returns
// an empty store; RunAccounts closes it.
func RunAccounts(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a store.Accounts)
	}{
		{"Tenants", testTenants},
		{"Users", testUsers},
		{"UserTenantIsolation", testUserIsolation},
		{"ConcurrentPut", testConcurrentPut},
		{"Validation", testAccountValidation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			a, ok := st.(store.Accounts)
			if !ok {
				t.Fatalf("%T does not implement store.Accounts", st)
			}
			tc.fn(t, a)
		})
	}
}

func testTenants(t *testing.T, a store.Accounts) {
	if _, err := a.GetTenant(ctx(t), "acme"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("absent tenant: %v, want ErrNotFound", err)
	}
	if ts, err := a.ListTenants(ctx(t)); err != nil || ts == nil || len(ts) != 0 {
		t.Fatalf("empty list = %#v, %v; want an empty, non-nil slice", ts, err)
	}
	acme := &store.Tenant{Name: "acme", DisplayName: "ACME Corp", ScansPerDay: 100, RequestsPerMinute: 60}
	if err := a.PutTenant(ctx(t), acme); err != nil {
		t.Fatal(err)
	}
	if acme.CreatedAt.IsZero() || acme.UpdatedAt.IsZero() {
		t.Fatalf("PutTenant did not fill the times: %+v", acme)
	}
	created := acme.CreatedAt
	if err := a.PutTenant(ctx(t), &store.Tenant{Name: "globex"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	upd := &store.Tenant{Name: "acme", DisplayName: "ACME", ScansPerDay: 5, Disabled: true}
	if err := a.PutTenant(ctx(t), upd); err != nil {
		t.Fatal(err)
	}
	got, err := a.GetTenant(ctx(t), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got.DisplayName != "ACME" || got.ScansPerDay != 5 || got.RequestsPerMinute != 0 || !got.Disabled {
		t.Fatalf("replaced tenant = %+v", got)
	}
	if !got.CreatedAt.Equal(created) || !upd.CreatedAt.Equal(created) || !got.UpdatedAt.After(created) {
		t.Fatalf("replacing changed the creation time or kept the update time: created %v, got %+v", created, got)
	}
	ts, err := a.ListTenants(ctx(t))
	if err != nil || len(ts) != 2 || ts[0].Name != "acme" || ts[1].Name != "globex" {
		t.Fatalf("tenants = %+v, %v", ts, err)
	}
}

func testUsers(t *testing.T, a store.Accounts) {
	for _, s := range []string{"carol", "alice", "bob"} {
		if err := a.PutUser(ctx(t), &store.User{Tenant: "acme", Subject: s, Role: "viewer"}); err != nil {
			t.Fatal(err)
		}
	}
	first, err := a.GetUser(ctx(t), "acme", "bob")
	if err != nil || first.Role != "viewer" || first.Disabled || first.CreatedAt.IsZero() {
		t.Fatalf("bob = %+v, %v", first, err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := a.PutUser(ctx(t), &store.User{Tenant: "acme", Subject: "bob", Name: "Bob B.", Role: "admin", Disabled: true}); err != nil {
		t.Fatal(err)
	}
	got, err := a.GetUser(ctx(t), "acme", "bob")
	if err != nil || got.Role != "admin" || !got.Disabled || got.Name != "Bob B." || !got.CreatedAt.Equal(first.CreatedAt) || !got.UpdatedAt.After(first.UpdatedAt) {
		t.Fatalf("replaced bob = %+v, %v (first %+v)", got, err, first)
	}
	us, err := a.ListUsers(ctx(t), "acme")
	if err != nil || len(us) != 3 || us[0].Subject != "alice" || us[1].Subject != "bob" || us[2].Subject != "carol" {
		t.Fatalf("users = %+v, %v", us, err)
	}
	if err := a.DeleteUser(ctx(t), "acme", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteUser(ctx(t), "acme", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	if _, err := a.GetUser(ctx(t), "acme", "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted user: %v, want ErrNotFound", err)
	}
	if us, _ := a.ListUsers(ctx(t), "acme"); len(us) != 2 {
		t.Fatalf("after delete: %+v", us)
	}
}

func testUserIsolation(t *testing.T, a store.Accounts) {
	if err := a.PutUser(ctx(t), &store.User{Tenant: "acme", Subject: "ann", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	// The same subject in another tenant is another user.
	if err := a.PutUser(ctx(t), &store.User{Tenant: "globex", Subject: "ann", Role: "viewer"}); err != nil {
		t.Fatal(err)
	}
	if u, err := a.GetUser(ctx(t), "acme", "ann"); err != nil || u.Role != "admin" || u.Tenant != "acme" {
		t.Fatalf("acme/ann = %+v, %v", u, err)
	}
	if _, err := a.GetUser(ctx(t), "initech", "ann"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ann in a third tenant: %v, want ErrNotFound", err)
	}
	if err := a.DeleteUser(ctx(t), "initech", "ann"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting through another tenant: %v, want ErrNotFound", err)
	}
	if us, err := a.ListUsers(ctx(t), "globex"); err != nil || len(us) != 1 || us[0].Role != "viewer" {
		t.Fatalf("globex users = %+v, %v", us, err)
	}
	if err := a.DeleteUser(ctx(t), "globex", "ann"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetUser(ctx(t), "acme", "ann"); err != nil {
		t.Fatalf("deleting globex/ann removed acme/ann: %v", err)
	}
}

func testConcurrentPut(t *testing.T, a store.Accounts) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			errs <- a.PutUser(ctx(t), &store.User{Tenant: "acme", Subject: "dan", Role: "viewer", Name: fmt.Sprint(i)})
		}()
		go func() {
			defer wg.Done()
			errs <- a.PutTenant(ctx(t), &store.Tenant{Name: "acme", ScansPerDay: i + 1})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	us, err := a.ListUsers(ctx(t), "acme")
	if err != nil || len(us) != 1 {
		t.Fatalf("concurrent puts of one user left %+v, %v", us, err)
	}
	ts, err := a.ListTenants(ctx(t))
	if err != nil || len(ts) != 1 || ts[0].ScansPerDay < 1 || ts[0].ScansPerDay > 8 {
		t.Fatalf("concurrent puts of one tenant left %+v, %v", ts, err)
	}
}

func testAccountValidation(t *testing.T, a store.Accounts) {
	if err := a.PutTenant(ctx(t), &store.Tenant{}); err == nil {
		t.Error("a tenant without a name was stored")
	}
	for _, u := range []store.User{{Subject: "x", Role: "viewer"}, {Tenant: "acme", Role: "viewer"}, {Tenant: "acme", Subject: "x"}} {
		if err := a.PutUser(ctx(t), &u); err == nil {
			t.Errorf("user %+v stored without a tenant, subject or role", u)
		}
	}
	if us, _ := a.ListUsers(ctx(t), "acme"); len(us) != 0 {
		t.Errorf("invalid users were stored: %+v", us)
	}
}
