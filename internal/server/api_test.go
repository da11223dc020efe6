package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/server"
)

// TestOpenAPIRoutes: every route of the router is in api/openapi.json and
// every operation of the file is routed; the embedded copy is the file.
func TestOpenAPIRoutes(t *testing.T) {
	file, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, server.OpenAPI()) {
		t.Fatal("internal/server/openapi.json differs from api/openapi.json: run `make openapi`")
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	var inFile []string
	for p, ops := range doc.Paths {
		for m := range ops {
			inFile = append(inFile, strings.ToUpper(m)+" "+p)
		}
	}
	// The admission webhook is mounted only when configured (TLS).
	g := newGateway(t, gwOptions{admission: http.NotFoundHandler()})
	routes := g.srv.Routes()
	slices.Sort(inFile)
	slices.Sort(routes)
	if !slices.Equal(inFile, routes) {
		t.Errorf("routes and api/openapi.json differ:\n router %v\n file   %v", routes, inFile)
	}
	// The document is served.
	code, _, body := g.do("GET", "/api/openapi.json", "", nil)
	if code != 200 || !bytes.Equal(body, file) {
		t.Errorf("GET /api/openapi.json: %d", code)
	}
}

// TestBadRequests: bounded bodies, strict JSON, clear 4xx.
func TestBadRequests(t *testing.T) {
	g := newGateway(t, gwOptions{maxBody: 4096})
	tok := g.token("a", "acme", server.RoleScanner)
	cases := []struct {
		name, body string
		code       int
		msg        string
	}{
		{"empty", "", 400, "empty"},
		{"not json", "image=x", 400, "request body"},
		{"unknown field", `{"image":"a/b:c","extra":1}`, 400, "unknown field"},
		{"trailing data", `{"image":"a/b:c"}{"image":"d"}`, 400, "after the JSON"},
		{"neither", `{}`, 400, "give"},
		{"both", `{"image":"a/b:c","sbom":{}}`, 400, "not both"},
		{"oci target", `{"image":"oci:/etc"}`, 400, "registry references"},
		{"dir target", `{"image":"dir:/"}`, 400, "registry references"},
		{"bad reference", `{"image":"UPPER/case::x"}`, 400, "image"},
		{"sbom not object", `{"sbom":[1,2]}`, 400, "sbom"},
		{"too large", `{"image":"` + strings.Repeat("a", 5000) + `"}`, 413, "larger"},
	}
	for _, c := range cases {
		code, _, body := g.do("POST", "/api/scan", tok, c.body)
		if code != c.code || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.msg)
		}
	}
	req, _ := http.NewRequest("POST", g.URL+"/api/scan", strings.NewReader(`{"image":"a/b:c"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d, want 415", resp.StatusCode)
	}
	if code, _, _ := g.do("GET", "/api/images/latest", tok, nil); code != 400 {
		t.Errorf("image by non-digest: %d, want 400", code)
	}
	if code, _, _ := g.do("GET", "/api/nothing", tok, nil); code != 404 {
		t.Errorf("unknown path: %d, want 404", code)
	}
	if code, _, _ := g.do("PUT", "/api/scans", tok, nil); code != 405 {
		t.Errorf("PUT /api/scans: %d, want 405", code)
	}
}

// TestHealthMetrics: liveness, readiness from the store, metrics in the
// Prometheus text format.
func TestHealthMetrics(t *testing.T) {
	g := newGateway(t, gwOptions{mode: "in-process"})
	if code, _, _ := g.do("GET", "/healthz", "", nil); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	if code, _, body := g.do("GET", "/readyz", "", nil); code != 200 || !strings.Contains(string(body), `"store":"ok"`) {
		t.Errorf("readyz: %d %s", code, body)
	}
	g.do("GET", "/api/scans", "", nil) // a 401, counted
	code, h, body := g.do("GET", "/metrics", "", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(body), `stella_http_requests_total{code="401",method="GET",route="/api/scans"} 1`) ||
		!strings.Contains(string(body), "go_goroutines") {
		t.Errorf("metrics: %d %.500s", code, body)
	}
	g.store.Close()
	if code, _, _ := g.do("GET", "/readyz", "", nil); code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the store closed: %d, want 503", code)
	}
}
