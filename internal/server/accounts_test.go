package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/store/storetest"
)

// tokenSecret creates an API token as tok's subject and returns its id and
// secret.
func (g *gateway) tokenSecret(tok, name, role string) (string, string) {
	g.t.Helper()
	code, _, body := g.do("POST", "/api/tokens", tok, map[string]string{"name": name, "role": role})
	var tc server.TokenCreated
	if code != http.StatusCreated || json.Unmarshal(body, &tc) != nil {
		g.t.Fatalf("create token %s: %d %s", name, code, body)
	}
	return tc.Token.ID, tc.Secret
}

func findUser(us []server.User, sub string) *server.User {
	for i := range us {
		if us[i].Subject == sub {
			return &us[i]
		}
	}
	return nil
}

// Users and roles over real HTTP: an admin stores a user's role, which
// revokes the user's API tokens above it; disabling revokes them all;
// nobody demotes, disables or deletes themselves; another tenant neither
// sees nor touches the user.
func TestUsersEndpoints(t *testing.T) {
	g := newGateway(t, gwOptions{})
	ada := g.token("ada", "acme", server.RoleAdmin)
	bob := g.token("bob", "acme", server.RoleAdmin)
	vic := g.token("vic", "acme", server.RoleViewer)
	eve := g.token("eve", "globex", server.RoleAdmin)
	bobAdminID, bobAdmin := g.tokenSecret(bob, "bob-admin", "admin")
	_, bobViewer := g.tokenSecret(bob, "bob-viewer", "viewer")

	if code, _, _ := g.do("GET", "/api/users", vic, nil); code != http.StatusForbidden {
		t.Errorf("viewer listing users: %d, want 403", code)
	}
	if code, _, _ := g.do("PUT", "/api/users/bob", vic, map[string]string{"role": "viewer"}); code != http.StatusForbidden {
		t.Errorf("viewer setting a role: %d, want 403", code)
	}
	var ul server.UserList
	g.getJSON("/api/users", ada, 200, &ul)
	if b := findUser(ul.Users, "bob"); !ul.Managed || b == nil || b.Managed || b.Tokens != 2 || strings.Join(b.Roles, ",") != "admin,viewer" {
		t.Fatalf("users before: %+v", ul)
	}

	// Demote bob: his admin token is revoked, his viewer token kept.
	code, _, body := g.do("PUT", "/api/users/bob", ada, map[string]string{"role": "viewer", "name": "Bob"})
	var saved server.UserSaved
	if code != http.StatusCreated || json.Unmarshal(body, &saved) != nil || saved.Revoked != 1 || saved.User.Role != "viewer" || saved.User.Tenant != "acme" {
		t.Fatalf("demote bob: %d %s", code, body)
	}
	if code, _, _ := g.do("GET", "/api/me", bobAdmin, nil); code != http.StatusUnauthorized {
		t.Errorf("bob's admin token after the demotion: %d, want 401", code)
	}
	if code, _, _ := g.do("GET", "/api/me", bobViewer, nil); code != http.StatusOK {
		t.Errorf("bob's viewer token after the demotion: %d, want 200", code)
	}
	var tl server.TokenList
	g.getJSON("/api/tokens", ada, 200, &tl)
	for _, tk := range tl.Tokens {
		if tk.ID == bobAdminID && tk.RevokedAt == nil {
			t.Errorf("bob's admin token is not marked revoked: %+v", tk)
		}
	}
	// Disable bob: every token goes.
	code, _, body = g.do("PUT", "/api/users/bob", ada, map[string]any{"role": "viewer", "name": "Bob", "disabled": true})
	if code != http.StatusOK || json.Unmarshal(body, &saved) != nil || saved.Revoked != 1 || !saved.User.Disabled {
		t.Fatalf("disable bob: %d %s", code, body)
	}
	if code, _, _ := g.do("GET", "/api/me", bobViewer, nil); code != http.StatusUnauthorized {
		t.Errorf("a disabled user's token: %d, want 401", code)
	}
	g.getJSON("/api/users", ada, 200, &ul)
	if b := findUser(ul.Users, "bob"); b == nil || !b.Managed || !b.Disabled || b.Role != "viewer" || b.Name != "Bob" || b.Tokens != 0 {
		t.Fatalf("users after: %+v", ul.Users)
	}

	// Nobody demotes, disables or deletes themselves.
	for _, req := range []map[string]any{{"role": "scanner"}, {"role": "admin", "disabled": true}} {
		if code, _, body := g.do("PUT", "/api/users/ada", ada, req); code != http.StatusConflict {
			t.Errorf("ada %v on herself: %d %s", req, code, body)
		}
	}
	if code, _, _ := g.do("DELETE", "/api/users/ada", ada, nil); code != http.StatusConflict {
		t.Errorf("ada deleting herself: %d", code)
	}
	// Bad input.
	for path, req := range map[string]any{
		"/api/users/bob":     map[string]string{"role": "root"},
		"/api/users/%20bob":  map[string]string{"role": "viewer"},
		"/api/users/b%0Aob":  map[string]string{"role": "viewer"},
		"/api/users/bob?x=1": map[string]any{"role": "viewer", "extra": 1},
	} {
		if code, _, body := g.do("PUT", path, ada, req); code != http.StatusBadRequest {
			t.Errorf("PUT %s %v: %d %s, want 400", path, req, code, body)
		}
	}

	// Another tenant: does not see bob, cannot delete him, and its own
	// bob is another user.
	g.getJSON("/api/users", eve, 200, &ul)
	if findUser(ul.Users, "bob") != nil {
		t.Errorf("globex sees acme's bob: %+v", ul.Users)
	}
	if code, _, _ := g.do("DELETE", "/api/users/bob", eve, nil); code != http.StatusNotFound {
		t.Errorf("globex deleting acme's bob: %d, want 404", code)
	}
	if code, _, _ := g.do("PUT", "/api/users/bob", eve, map[string]string{"role": "admin"}); code != http.StatusCreated {
		t.Errorf("globex's own bob: %d", code)
	}
	g.getJSON("/api/users", ada, 200, &ul)
	if b := findUser(ul.Users, "bob"); b == nil || b.Role != "viewer" || !b.Disabled {
		t.Errorf("globex's bob changed acme's: %+v", b)
	}

	if code, _, _ := g.do("DELETE", "/api/users/bob", ada, nil); code != http.StatusNoContent {
		t.Errorf("delete bob: %d", code)
	}
	if code, _, _ := g.do("DELETE", "/api/users/bob", ada, nil); code != http.StatusNotFound {
		t.Errorf("delete bob twice: %d, want 404", code)
	}
}

// Tenants and quotas: only the operator tenant's admins see every tenant
// and set quota overrides; a tenant sees its own quotas in force and usage
// and nobody else's.
func TestTenantsEndpoints(t *testing.T) {
	g := newGateway(t, gwOptions{quota: server.QuotaConfig{ScansPerDay: 50, RequestsPerMinute: 1000}, admin: server.Admin{OperatorTenant: "ops"}})
	ops := g.token("root", "ops", server.RoleAdmin)
	opsViewer := g.token("watch", "ops", server.RoleViewer)
	ada := g.token("ada", "acme", server.RoleAdmin)
	alice := g.token("alice", "acme", server.RoleScanner)
	eve := g.token("eve", "globex", server.RoleAdmin)
	g.postScan(alice, map[string]string{"image": "registry.example/app:1"})

	var tl server.TenantList
	g.getJSON("/api/tenants", ada, 200, &tl)
	if tl.Operator || tl.Editable || len(tl.Tenants) != 1 || tl.Tenants[0].Name != "acme" || tl.Tenants[0].ScansToday != 1 || tl.Tenants[0].ScansPerDay != 50 {
		t.Fatalf("acme's tenants: %+v", tl)
	}
	if code, _, _ := g.do("PUT", "/api/tenants/acme", ada, map[string]int{"scansPerDay": 5000}); code != http.StatusForbidden {
		t.Errorf("a tenant admin raising its own quota: %d, want 403", code)
	}
	if code, _, _ := g.do("PUT", "/api/tenants/acme", opsViewer, map[string]int{"scansPerDay": 1}); code != http.StatusForbidden {
		t.Errorf("an operator viewer setting quotas: %d, want 403", code)
	}
	code, _, body := g.do("PUT", "/api/tenants/acme", ops, map[string]any{"displayName": "ACME Corp", "scansPerDay": 2})
	var ti server.TenantInfo
	if code != http.StatusCreated || json.Unmarshal(body, &ti) != nil || !ti.Stored || ti.ScansPerDay != 2 || ti.ScansPerDayOverride != 2 || ti.RequestsPerMinute != 1000 || ti.ScansToday != 1 {
		t.Fatalf("operator sets acme's quota: %d %s", code, body)
	}
	if code, _, _ := g.do("PUT", "/api/tenants/acme", ops, map[string]any{"displayName": "ACME", "scansPerDay": 3}); code != http.StatusOK {
		t.Errorf("second put: %d, want 200", code)
	}
	for path, req := range map[string]any{
		"/api/tenants/ops":       map[string]any{"disabled": true},
		"/api/tenants/acme":      map[string]any{"scansPerDay": -1},
		"/api/tenants/.hidden":   map[string]any{},
		"/api/tenants/a%2Fb":     map[string]any{},
		"/api/tenants/initech":   map[string]any{"requestsPerMinute": 2000000},
		"/api/tenants/initech/x": map[string]any{},
	} {
		if code, _, body := g.do("PUT", path, ops, req); code < 400 || code >= 500 && code != http.StatusNotImplemented {
			t.Errorf("PUT %s %v: %d %s, want a 4xx", path, req, code, body)
		}
	}

	g.getJSON("/api/tenants", ops, 200, &tl)
	names := []string{}
	for _, x := range tl.Tenants {
		names = append(names, x.Name)
	}
	if !tl.Operator || !tl.Editable || strings.Join(names, ",") != "acme,ops" || tl.Tenants[0].DisplayName != "ACME" || tl.Tenants[0].ScansPerDay != 3 {
		t.Fatalf("operator's tenants: %+v", tl)
	}

	var q server.QuotaUsage
	g.getJSON("/api/quotas", alice, 200, &q)
	if q.Tenant != "acme" || q.ScansPerDay != 3 || q.RequestsPerMinute != 1000 || !q.Overridden || q.ScansToday != 1 {
		t.Errorf("acme's quotas: %+v", q)
	}
	g.getJSON("/api/quotas", eve, 200, &q)
	if q.Tenant != "globex" || q.ScansPerDay != 50 || q.Overridden || q.ScansToday != 0 {
		t.Errorf("globex's quotas: %+v", q)
	}
	if code, _, _ := g.do("GET", "/api/quotas?tenant=acme", eve, nil); code != http.StatusNotFound {
		t.Errorf("globex reading acme's quotas: %d, want 404", code)
	}
	g.getJSON("/api/quotas?tenant=acme", ops, 200, &q)
	if q.Tenant != "acme" || q.ScansToday != 1 {
		t.Errorf("operator reading acme's quotas: %+v", q)
	}
}

// Policies: uploads are compile-checked with the policies in force (the
// old version of the same file left out), written atomically, listed,
// deleted; only the operator tenant's admins may, and only when an upload
// directory is configured.
func TestPolicyUpload(t *testing.T) {
	org, up := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(org, "base.rego"), []byte("package org.base\n\nimport rego.v1\n\nlimit := 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var reloads atomic.Int32
	g := newGateway(t, gwOptions{admin: server.Admin{OperatorTenant: "ops", PolicyDirs: []string{org}, PolicyUploadDir: up,
		PolicyReload: func(context.Context) error { reloads.Add(1); return nil }}})
	ops := g.token("root", "ops", server.RoleAdmin)
	ada := g.token("ada", "acme", server.RoleAdmin)

	v1 := "package org.up\n\nimport rego.v1\n\nlevel := \"a\"\n\nwarn contains \"uploaded\" if data.org.base.limit > 1\n"
	if code, _, _ := g.do("POST", "/api/policies", ada, server.PolicyUpload{Name: "up.rego", Module: v1}); code != http.StatusForbidden {
		t.Errorf("a tenant admin uploading a policy for every tenant: %d, want 403", code)
	}
	bad := map[string]server.PolicyUpload{
		"path":     {Name: "../up.rego", Module: v1},
		"dotfile":  {Name: ".up.rego", Module: v1},
		"not rego": {Name: "up.json", Module: v1},
		"empty":    {Name: "up.rego", Module: " \n"},
	}
	for what, req := range bad {
		if code, _, body := g.do("POST", "/api/policies", ops, req); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", what, code, body)
		}
	}
	for what, mod := range map[string]string{
		"syntax":    "package org.up\n\ndeny contains 1 if {",
		"http.send": "package org.up\n\nimport rego.v1\n\ndeny contains r if { r := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"}) }\n",
		"conflict":  "package org.base\n\nimport rego.v1\n\nlimit contains 4\n",
	} {
		code, _, body := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: "up.rego", Module: mod})
		if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "problems") {
			t.Errorf("%s: %d %s, want 422 with problems", what, code, body)
		}
		if strings.Contains(string(body), "stella-policy-upload-") {
			t.Errorf("%s: the answer shows the check's temporary paths: %s", what, body)
		}
	}
	if ents, _ := os.ReadDir(up); len(ents) != 0 {
		t.Fatalf("refused uploads left files: %v", ents)
	}

	code, _, body := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: "up.rego", Module: v1})
	var res server.PolicyUploaded
	if code != http.StatusCreated || json.Unmarshal(body, &res) != nil || !res.Reloaded || res.Path != filepath.Join(up, "up.rego") || reloads.Load() != 1 {
		t.Fatalf("upload: %d %s (reloads %d)", code, body, reloads.Load())
	}
	if b, err := os.ReadFile(filepath.Join(up, "up.rego")); err != nil || string(b) != v1 {
		t.Fatalf("uploaded file: %q, %v", b, err)
	}
	// v2 turns level into a set: it conflicts with v1, which it replaces.
	v2 := "package org.up\n\nimport rego.v1\n\nlevel contains \"b\"\n"
	if code, _, body := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: "up.rego", Module: v2}); code != http.StatusCreated {
		t.Fatalf("replacing upload: %d %s", code, body)
	}
	if ents, _ := os.ReadDir(up); len(ents) != 1 {
		t.Errorf("the upload directory holds %d entries, want 1 (no temp files)", len(ents))
	}

	var pl server.PolicyList
	g.getJSON("/api/policies", ops, 200, &pl)
	if !pl.Uploadable || len(pl.Policies) != 2 || pl.Policies[0].Name != "base.rego" || pl.Policies[0].Uploaded || pl.Policies[1].Name != "up.rego" || !pl.Policies[1].Uploaded || pl.Policies[1].Source != v2 {
		t.Fatalf("policies: %+v", pl)
	}
	g.getJSON("/api/policies", ada, 200, &pl)
	if pl.Uploadable {
		t.Error("a tenant admin is told it may upload")
	}

	if code, _, _ := g.do("DELETE", "/api/policies/up.rego", ada, nil); code != http.StatusForbidden {
		t.Errorf("tenant admin deleting: %d, want 403", code)
	}
	for _, name := range []string{"base.rego", "nope.rego", "..%2Fbase.rego"} {
		if code, _, _ := g.do("DELETE", "/api/policies/"+name, ops, nil); code != http.StatusNotFound {
			t.Errorf("delete %s: %d, want 404", name, code)
		}
	}
	if code, _, _ := g.do("DELETE", "/api/policies/up.rego", ops, nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if _, err := os.Stat(filepath.Join(up, "up.rego")); !os.IsNotExist(err) || reloads.Load() != 3 {
		t.Errorf("after delete: %v, reloads %d", err, reloads.Load())
	}
	if _, err := os.Stat(filepath.Join(org, "base.rego")); err != nil {
		t.Errorf("the mounted policy is gone: %v", err)
	}

	// No upload directory: 501.
	g2 := newGateway(t, gwOptions{admin: server.Admin{OperatorTenant: "ops"}})
	if code, _, _ := g2.do("POST", "/api/policies", g2.token("root", "ops", server.RoleAdmin), server.PolicyUpload{Name: "up.rego", Module: v1}); code != http.StatusNotImplemented {
		t.Errorf("upload without an upload directory: %d, want 501", code)
	}
}

// scansOnly is the SQLite store seen through store.Store alone, as a
// store without accounts (MongoDB today) is.
type scansOnly struct{ store.Store }

// Without accounts in the store, users come from the tokens and writes
// answer 501.
func TestAccountsWithoutStore(t *testing.T) {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g := newGateway(t, gwOptions{store: scansOnly{st}, admin: server.Admin{OperatorTenant: "ops"}})
	ada := g.token("ada", "acme", server.RoleAdmin)
	g.tokenSecret(ada, "ci", "scanner")
	var ul server.UserList
	g.getJSON("/api/users", ada, 200, &ul)
	if ul.Managed || len(ul.Users) != 1 || ul.Users[0].Subject != "ada" || ul.Users[0].Roles[0] != "scanner" {
		t.Errorf("users without accounts: %+v", ul)
	}
	if code, _, _ := g.do("PUT", "/api/users/bob", ada, map[string]string{"role": "viewer"}); code != http.StatusNotImplemented {
		t.Errorf("PUT user without accounts: %d, want 501", code)
	}
	if code, _, _ := g.do("PUT", "/api/tenants/acme", g.token("root", "ops", server.RoleAdmin), map[string]int{"scansPerDay": 1}); code != http.StatusNotImplemented {
		t.Errorf("PUT tenant without accounts: %d, want 501", code)
	}
}

// The short report format names, on a stored result.
func TestReportAliases(t *testing.T) {
	g := newGateway(t, gwOptions{})
	ctx := t.Context()
	sc := &store.Scan{ID: "11111111-2222-3333-4444-555555555555", Tenant: "acme", Target: "alpine:3.20", State: store.StateQueued}
	if err := g.store.CreateScan(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if err := g.store.CompleteScan(ctx, "acme", sc.ID, storetest.Result("alpine:3.20", "sha256:abcd")); err != nil {
		t.Fatal(err)
	}
	tok := g.token("vic", "acme", server.RoleViewer)
	for format, want := range map[string]string{"cyclonedx": `"bomFormat"`, "spdx": `"spdxVersion"`} {
		code, h, body := g.do("GET", "/api/scans/"+sc.ID+"/report?format="+format, tok, nil)
		if code != 200 || !strings.Contains(string(body), want) || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("report %s: %d %s", format, code, body)
		}
	}
	if code, _, _ := g.do("GET", "/api/scans/"+sc.ID+"/report?format=cyclonedx", g.token("eve", "globex", server.RoleViewer), nil); code != http.StatusNotFound {
		t.Errorf("another tenant's report: %d, want 404", code)
	}
}

// Input bounds and the order of checks added in review: names are
// printable and bounded everywhere, a tenant admin learns nothing about
// the store from a tenant write (403 before 501), and a 501 says why.
func TestAccountsInputAndOrder(t *testing.T) {
	g := newGateway(t, gwOptions{admin: server.Admin{OperatorTenant: "ops"}})
	ops := g.token("root", "ops", server.RoleAdmin)
	ada := g.token("ada", "acme", server.RoleAdmin)
	long := strings.Repeat("x", 257)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"DELETE", "/api/users/b%0Aob", nil},
		{"DELETE", "/api/users/" + long, nil},
		{"PUT", "/api/users/bob", map[string]string{"role": "viewer", "name": "Bob\x1b[31m"}},
		{"PUT", "/api/users/bob", map[string]string{"role": "viewer", "name": strings.Repeat("n", 201)}},
		{"PUT", "/api/users/b%FFob", map[string]string{"role": "viewer"}},
		{"PUT", "/api/tenants/acme", map[string]string{"displayName": "ACME\n"}},
		{"GET", "/api/quotas?tenant=" + long, nil},
		{"GET", "/api/quotas?tenant=a%0Ab", nil},
	} {
		if code, _, body := g.do(c.method, c.path, ops, c.body); code != http.StatusBadRequest {
			t.Errorf("%s %.60s: %d %s, want 400", c.method, c.path, code, body)
		}
	}
	// A tenant admin's invalid ?tenant= is still just another tenant: 404.
	if code, _, _ := g.do("GET", "/api/quotas?tenant="+long, ada, nil); code != http.StatusNotFound {
		t.Errorf("tenant admin, another tenant's quotas: %d, want 404", code)
	}

	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	g2 := newGateway(t, gwOptions{store: scansOnly{st}, admin: server.Admin{OperatorTenant: "ops"}})
	if code, _, _ := g2.do("PUT", "/api/tenants/acme", g2.token("ada", "acme", server.RoleAdmin), map[string]int{"scansPerDay": 1}); code != http.StatusForbidden {
		t.Errorf("tenant admin writing a tenant on a store without accounts: %d, want 403", code)
	}
	code, _, body := g2.do("DELETE", "/api/users/bob", g2.token("ada", "acme", server.RoleAdmin), nil)
	if code != http.StatusNotImplemented || !strings.Contains(string(body), "MongoDB") {
		t.Errorf("delete user without accounts: %d %s, want 501 naming the store", code, body)
	}
}
