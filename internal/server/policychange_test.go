package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/server"
)

// A change the scanners' engine refuses on reload (it also holds policies
// the check does not see, such as the plug-ins') is undone on disk: the
// file in force stays, a new file goes, and the answer is a 422.
func TestPolicyUploadRollsBackRefusedReload(t *testing.T) {
	up := t.TempDir()
	var refuse atomic.Bool
	g := newGateway(t, gwOptions{admin: server.Admin{OperatorTenant: "ops", PolicyUploadDir: up,
		PolicyReload: func(ctx context.Context) error {
			if refuse.Load() {
				return &policy.LoadError{Problems: []policy.Problem{{File: "plugin.rego", Line: 3, Message: "rego_type_error: conflicting rules"}}}
			}
			return nil
		}}})
	ops := g.token("root", "ops", server.RoleAdmin)
	v1 := "package org.up\n\nimport rego.v1\n\nwarn contains \"one\" if true\n"
	v2 := "package org.up\n\nimport rego.v1\n\nwarn contains \"two\" if true\n"
	if code, _, body := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: "up.rego", Module: v1}); code != http.StatusCreated {
		t.Fatalf("upload v1: %d %s", code, body)
	}
	refuse.Store(true)
	code, _, body := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: "up.rego", Module: v2})
	if code != http.StatusUnprocessableEntity || !strings.Contains(string(body), "plugin.rego:3") {
		t.Errorf("replacement refused by the reload: %d %s, want 422 naming the problem", code, body)
	}
	if b, _ := os.ReadFile(filepath.Join(up, "up.rego")); string(b) != v1 {
		t.Errorf("after a refused replacement the file holds %q, want v1 back", b)
	}
	if code, _, _ := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: "new.rego", Module: v2}); code != http.StatusUnprocessableEntity {
		t.Errorf("new file refused by the reload: %d, want 422", code)
	}
	if _, err := os.Stat(filepath.Join(up, "new.rego")); !os.IsNotExist(err) {
		t.Errorf("a refused new file was left: %v", err)
	}
	if code, _, _ := g.do("DELETE", "/api/policies/up.rego", ops, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("deletion refused by the reload: %d, want 422", code)
	}
	if b, _ := os.ReadFile(filepath.Join(up, "up.rego")); string(b) != v1 {
		t.Errorf("after a refused deletion the file holds %q, want v1 back", b)
	}
	if ents, _ := os.ReadDir(up); len(ents) != 1 {
		t.Errorf("the upload directory holds %d entries, want 1 (no temp files)", len(ents))
	}
}

// Deleting a file the others need (here a function they call) is refused
// before anything is removed.
func TestPolicyDeleteKeepsSetCompiling(t *testing.T) {
	up := t.TempDir()
	g := newGateway(t, gwOptions{admin: server.Admin{OperatorTenant: "ops", PolicyUploadDir: up}})
	ops := g.token("root", "ops", server.RoleAdmin)
	lib := "package org.lib\n\nimport rego.v1\n\nbad(img) if startswith(img, \"docker.io/\")\n"
	use := "package org.use\n\nimport rego.v1\n\ndeny contains \"docker.io\" if data.org.lib.bad(input.image.name)\n"
	// lib first: use calls its function.
	for _, f := range []server.PolicyUpload{{Name: "lib.rego", Module: lib}, {Name: "use.rego", Module: use}} {
		if code, _, body := g.do("POST", "/api/policies", ops, f); code != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", f.Name, code, body)
		}
	}
	code, _, body := g.do("DELETE", "/api/policies/lib.rego", ops, nil)
	var res struct {
		Error    string   `json:"error"`
		Problems []string `json:"problems"`
	}
	if code != http.StatusUnprocessableEntity || json.Unmarshal(body, &res) != nil || len(res.Problems) == 0 || !strings.Contains(res.Error, "would not compile") {
		t.Fatalf("deleting a needed file: %d %s, want 422 with problems", code, body)
	}
	if strings.Contains(string(body), "stella-policy-upload-") {
		t.Errorf("the answer shows the check's temporary paths: %s", body)
	}
	if _, err := os.Stat(filepath.Join(up, "lib.rego")); err != nil {
		t.Errorf("the refused deletion removed the file: %v", err)
	}
	for _, name := range []string{"use.rego", "lib.rego"} {
		if code, _, body := g.do("DELETE", "/api/policies/"+name, ops, nil); code != http.StatusNoContent {
			t.Errorf("delete %s: %d %s", name, code, body)
		}
	}
}

// Concurrent uploads are checked one after another: two modules that
// conflict with each other (one defines a rule as a value, the other as
// a set) cannot both land, however they interleave.
func TestPolicyUploadsSerialised(t *testing.T) {
	up := t.TempDir()
	g := newGateway(t, gwOptions{admin: server.Admin{OperatorTenant: "ops", PolicyUploadDir: up}})
	ops := g.token("root", "ops", server.RoleAdmin)
	mods := map[string]string{
		"a.rego": "package org.x\n\nimport rego.v1\n\nlevel := \"a\"\n",
		"b.rego": "package org.x\n\nimport rego.v1\n\nlevel contains \"b\"\n",
	}
	var wg sync.WaitGroup
	codes := make(chan int, len(mods))
	for name, src := range mods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, _ := g.do("POST", "/api/policies", ops, server.PolicyUpload{Name: name, Module: src})
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		if c == http.StatusCreated {
			created++
		} else if c != http.StatusUnprocessableEntity {
			t.Errorf("status %d, want 201 or 422", c)
		}
	}
	if ents, _ := os.ReadDir(up); created != 1 || len(ents) != 1 {
		t.Errorf("%d uploads accepted, %d files on disk; want exactly one of the conflicting pair", created, len(ents))
	}
	if _, err := policy.Load(t.Context(), policy.Options{Dirs: []string{up}}); err != nil {
		t.Errorf("the upload directory does not compile: %v", err)
	}
}
