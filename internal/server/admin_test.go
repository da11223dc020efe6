package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stella-scan/stella/internal/server"
)

// The endpoints of the UI's pages over real HTTP: roles, tenant isolation
// (404), report downloads, policy tests on a stored scan, dashboard
// aggregates, the SPA fallback.
func TestAdminEndpoints(t *testing.T) {
	fx := registryFixtures(t)
	synced := 0
	g := newGateway(t, gwOptions{mode: modes[0],
		admin: server.Admin{
			Plugins: func() []server.PluginInfo {
				return []server.PluginInfo{{File: "p", Name: "example", Kind: "vulnerability_provider", SHA256: "ab", State: "ready"}}
			},
			Feeds: func(context.Context) ([]server.FeedInfo, error) {
				return []server.FeedInfo{{Name: "osv", Records: 95, LastSync: time.Now().Add(-time.Hour), AgeHours: 1}}, nil
			},
			FeedSync: func(context.Context) error { synced++; return nil },
		},
		ui: fstest.MapFS{
			"index.html":        {Data: []byte("<!doctype html><app-root></app-root>")},
			"main-ABC123.js":    {Data: []byte("console.log(1)")},
			"styles-XYZ789.css": {Data: []byte("body{}")},
		},
	})
	scanner := g.token("alice", "acme", server.RoleScanner)
	viewer := g.token("vic", "acme", server.RoleViewer)
	admin := g.token("ada", "acme", server.RoleAdmin)
	other := g.token("eve", "globex", server.RoleAdmin)

	id := g.postScan(scanner, map[string]string{"image": fx.refs["debian-app"]})
	if s := g.wait(scanner, id); s.State != "done" {
		t.Fatalf("scan %s", s.State)
	}

	var me map[string]string
	g.getJSON("/api/me", viewer, 200, &me)
	if me["subject"] != "vic" || me["tenant"] != "acme" || me["role"] != "viewer" {
		t.Errorf("me = %v", me)
	}

	var dash server.Dashboard
	g.getJSON("/api/dashboard", viewer, 200, &dash)
	today := time.Now().UTC().Format("2006-01-02")
	last := dash.ScansByDay[len(dash.ScansByDay)-1]
	if len(dash.ScansByDay) != 14 || last.Day != today || last.Fail != 1 || dash.TotalScans != 1 {
		t.Errorf("scans by day %+v, total %d", last, dash.TotalScans)
	}
	if dash.Findings == 0 || dash.BySeverity["CRITICAL"]+dash.BySeverity["HIGH"] == 0 || len(dash.TopImages) != 1 || dash.TopImages[0].Target != fx.refs["debian-app"] {
		t.Errorf("dashboard findings %d %v top %v", dash.Findings, dash.BySeverity, dash.TopImages)
	}
	if len(dash.Feeds) != 1 || dash.Feeds[0].Name != "osv" {
		t.Errorf("dashboard feeds %v", dash.Feeds)
	}
	var otherDash server.Dashboard
	g.getJSON("/api/dashboard", other, 200, &otherDash)
	if otherDash.TotalScans != 0 || otherDash.Findings != 0 {
		t.Errorf("globex sees acme's scans in its dashboard: %+v", otherDash)
	}

	// Reports.
	for format, want := range map[string]string{"sarif": `"$schema"`, "html": "<html", "cyclonedx-json": `"bomFormat"`, "spdx-json": `"spdxVersion"`, "json": `"findings"`} {
		code, h, body := g.do("GET", "/api/scans/"+id+"/report?format="+format, viewer, nil)
		if code != 200 || !strings.Contains(string(body), want) || !strings.Contains(h.Get("Content-Disposition"), "attachment") {
			t.Errorf("report %s: %d %s", format, code, h.Get("Content-Disposition"))
		}
	}
	if code, _, _ := g.do("GET", "/api/scans/"+id+"/report?format=pdf", viewer, nil); code != 400 {
		t.Errorf("report pdf: %d", code)
	}
	if code, _, _ := g.do("GET", "/api/scans/"+id+"/report?format=sarif", other, nil); code != 404 {
		t.Errorf("another tenant's report: %d, want 404", code)
	}

	// Policy test: a candidate rule changes the decision; a broken one is
	// refused with its problems; http.send is refused at compile time.
	module := "package org.test\n\nimport rego.v1\n\ndeny contains \"no debian\" if contains(input.image.name, \"debian\")\n"
	code, _, body := g.do("POST", "/api/policies/test", scanner, map[string]string{"scanId": id, "module": module})
	var dec struct {
		Verdict string
		Deny    []struct{ Msg string }
	}
	json.Unmarshal(body, &dec)
	found := false
	for _, d := range dec.Deny {
		found = found || d.Msg == "no debian"
	}
	if code != 200 || dec.Verdict != "fail" || !found {
		t.Errorf("policy test: %d %s", code, body)
	}
	for _, bad := range []string{"package x\n\ndeny contains 1 if {", "package x\n\nimport rego.v1\n\ndeny contains r if { r := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1/\"}) }\n"} {
		if code, _, body := g.do("POST", "/api/policies/test", scanner, map[string]string{"scanId": id, "module": bad}); code != 422 {
			t.Errorf("broken module: %d %s", code, body)
		}
	}
	if code, _, _ := g.do("POST", "/api/policies/test", viewer, map[string]string{"scanId": id}); code != 403 {
		t.Errorf("viewer testing a policy: %d", code)
	}
	if code, _, _ := g.do("POST", "/api/policies/test", other, map[string]string{"scanId": id}); code != 404 {
		t.Errorf("another tenant's scan in a policy test: %d", code)
	}

	// Admin pages: roles.
	if code, _, _ := g.do("GET", "/api/users", viewer, nil); code != 403 {
		t.Errorf("viewer listing users: %d", code)
	}
	g.do("POST", "/api/tokens", admin, map[string]string{"name": "ci", "role": "scanner"})
	var users struct{ Users []server.User }
	g.getJSON("/api/users", admin, 200, &users)
	if len(users.Users) != 1 || users.Users[0].Subject != "ada" {
		t.Errorf("users %+v", users)
	}
	var ten struct{ Tenants []map[string]any }
	g.getJSON("/api/tenants", admin, 200, &ten)
	if len(ten.Tenants) != 1 || ten.Tenants[0]["name"] != "acme" {
		t.Errorf("tenants %+v", ten)
	}
	var q map[string]any
	g.getJSON("/api/quotas", viewer, 200, &q)
	if q["scansToday"] != float64(1) {
		t.Errorf("quotas %v", q)
	}
	var pl struct{ Plugins []server.PluginInfo }
	g.getJSON("/api/plugins", viewer, 200, &pl)
	if len(pl.Plugins) != 1 || pl.Plugins[0].SHA256 != "ab" {
		t.Errorf("plugins %+v", pl)
	}
	if code, _, _ := g.do("POST", "/api/feeds/sync", scanner, nil); code != 403 || synced != 0 {
		t.Errorf("scanner syncing feeds: %d", code)
	}
	if code, _, _ := g.do("POST", "/api/feeds/sync", admin, nil); code != 200 || synced != 1 {
		t.Errorf("admin syncing feeds: %d, synced %d", code, synced)
	}

	// The SPA: assets, the index for client routes, not for the API.
	code, h, body := g.do("GET", "/scans/"+id, "", nil)
	if code != 200 || !strings.Contains(string(body), "app-root") || !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("client route: %d %s", code, body)
	}
	if code, h, _ := g.do("GET", "/main-ABC123.js", "", nil); code != 200 || !strings.Contains(h.Get("Cache-Control"), "immutable") || !strings.Contains(h.Get("Content-Type"), "javascript") {
		t.Errorf("asset: %d %v", code, h)
	}
	if code, _, _ := g.do("GET", "/missing-123.js", "", nil); code != http.StatusNotFound {
		t.Errorf("missing asset: %d", code)
	}
	if code, _, _ := g.do("GET", "/api/nope", viewer, nil); code != http.StatusNotFound {
		t.Errorf("unknown API path: %d", code)
	}
}
