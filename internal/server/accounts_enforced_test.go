package server_test

import (
	"net/http"
	"testing"

	"github.com/stella-scan/stella/internal/server"
)

// The stored accounts apply to every request: a JWT's role is capped by
// the user's stored role, a disabled user or tenant is refused with 401,
// and a tenant's quota override replaces the server's.
func TestAccountsEnforced(t *testing.T) {
	g := newGateway(t, gwOptions{quota: server.QuotaConfig{ScansPerDay: 100}, admin: server.Admin{OperatorTenant: "ops"}})
	ops := g.token("root", "ops", server.RoleAdmin)
	ada := g.token("ada", "acme", server.RoleAdmin)
	bob := g.token("bob", "acme", server.RoleAdmin) // the IdP says admin
	alice := g.token("alice", "acme", server.RoleScanner)

	if code, _, _ := g.do("GET", "/api/users", bob, nil); code != http.StatusOK {
		t.Fatalf("bob as admin: %d", code)
	}
	if code, _, _ := g.do("PUT", "/api/users/bob", ada, map[string]string{"role": "viewer"}); code != http.StatusCreated {
		t.Fatalf("cap bob: %d", code)
	}
	var me map[string]string
	g.getJSON("/api/me", bob, 200, &me)
	if me["role"] != "viewer" {
		t.Errorf("bob's role after the cap: %v", me)
	}
	if code, _, _ := g.do("GET", "/api/users", bob, nil); code != http.StatusForbidden {
		t.Errorf("capped bob listing users: %d, want 403", code)
	}
	if code, _, _ := g.do("POST", "/api/tokens", bob, map[string]string{"name": "x", "role": "admin"}); code != http.StatusForbidden {
		t.Errorf("capped bob minting an admin token: %d, want 403", code)
	}
	if code, _, _ := g.do("PUT", "/api/users/bob", ada, map[string]any{"role": "viewer", "disabled": true}); code != http.StatusOK {
		t.Fatalf("disable bob: %d", code)
	}
	if code, h, _ := g.do("GET", "/api/me", bob, nil); code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" {
		t.Errorf("disabled bob: %d, want 401 with WWW-Authenticate", code)
	}

	// Quota override: acme gets one scan a day.
	if code, _, _ := g.do("PUT", "/api/tenants/acme", ops, map[string]int{"scansPerDay": 1}); code != http.StatusCreated {
		t.Fatalf("set acme's quota: %d", code)
	}
	g.postScan(alice, map[string]string{"image": "registry.example/app:1"})
	if code, h, _ := g.do("POST", "/api/scan", alice, map[string]string{"image": "registry.example/app:2"}); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Errorf("second scan over acme's quota of 1: %d", code)
	}
	// Disable the tenant: everyone in it is refused.
	if code, _, _ := g.do("PUT", "/api/tenants/acme", ops, map[string]any{"disabled": true}); code != http.StatusOK {
		t.Fatalf("disable acme: %d", code)
	}
	if code, _, _ := g.do("GET", "/api/me", ada, nil); code != http.StatusUnauthorized {
		t.Errorf("admin of a disabled tenant: %d, want 401", code)
	}
	if code, _, _ := g.do("GET", "/api/me", ops, nil); code != http.StatusOK {
		t.Errorf("the operator: %d", code)
	}
}
