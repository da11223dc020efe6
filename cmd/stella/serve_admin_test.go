package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// `stella serve --operator-tenant --policy-upload-dir`: an operator's
// upload decides this process's next scan at once (the in-process engine
// is reloaded), a tenant admin may not upload, and the file lands in the
// directory.
func TestServePolicyUpload(t *testing.T) {
	fx := newProcessFixture(t)
	up := filepath.Join(t.TempDir(), "uploads") // created by serve
	args := append(slices.Clone(serveArgs), "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--db", fx.db,
		"--operator-tenant", "ops", "--policy-upload-dir", up)
	p := start(t, args...)
	base := waitListening(t, p)
	ops := &apiClient{t: t, base: base, tok: token(t, "ops", "admin"), http: http.DefaultClient}
	acme := &apiClient{t: t, base: base, tok: token(t, "acme", "admin"), http: http.DefaultClient}

	mod := map[string]string{"name": "no-fixtures.rego",
		"module": "package org.fixtures\n\nimport rego.v1\n\ndeny contains \"no fixture images\" if contains(input.image.name, \"/fixtures/\")\n"}
	if code := acme.do("POST", "/api/policies", mod, nil); code != http.StatusForbidden {
		t.Errorf("a tenant admin uploading: %d, want 403", code)
	}
	var res struct {
		Path     string `json:"path"`
		Reloaded bool   `json:"reloaded"`
	}
	if code := ops.do("POST", "/api/policies", mod, &res); code != http.StatusCreated || !res.Reloaded || res.Path != filepath.Join(up, "no-fixtures.rego") {
		t.Fatalf("operator upload: %d %+v", code, res)
	}
	if _, err := os.Stat(res.Path); err != nil {
		t.Fatal(err)
	}
	var accepted struct {
		ID string `json:"id"`
	}
	if code := acme.do("POST", "/api/scan", map[string]string{"image": fx.refs["alpine-3.14-apk"]}, &accepted); code != http.StatusAccepted {
		t.Fatalf("scan: %d", code)
	}
	acme.waitDone(accepted.ID)
	var sc struct {
		Verdict string `json:"verdict"`
		Result  struct {
			Policy struct {
				Reasons []string `json:"reasons"`
			} `json:"policy"`
		} `json:"result"`
	}
	acme.do("GET", "/api/scans/"+accepted.ID, nil, &sc)
	if sc.Verdict != "fail" || !strings.Contains(strings.Join(sc.Result.Policy.Reasons, "\n"), "no fixture images") {
		t.Errorf("scan after the upload: verdict %q, reasons %q; want the uploaded policy's deny", sc.Verdict, sc.Result.Policy.Reasons)
	}
}

// --policy-upload-dir needs the in-process policy engine.
func TestServePolicyUploadNeedsLocalPolicy(t *testing.T) {
	args := append(slices.Clone(serveArgs), "--data", t.TempDir(), "--policy-upload-dir", t.TempDir(), "--opa-url", "http://127.0.0.1:1")
	if out, code := run(t, args...); code != exitUsage || !strings.Contains(out, "--policy-upload-dir and --opa-url") {
		t.Errorf("exit %d: %s", code, out)
	}
}
