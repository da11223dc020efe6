package server_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store/storetest"
)

// Reload swaps in a changed policy directory; a broken one leaves the
// engine in force.
func TestReloadablePolicy(t *testing.T) {
	dir := t.TempDir()
	write := func(msg string) {
		src := "package org.r\n\nimport rego.v1\n\ndeny contains \"" + msg + "\" if true\n"
		if err := os.WriteFile(filepath.Join(dir, "r.rego"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	denies := func(ev policy.Evaluator) []string {
		t.Helper()
		in := policy.FromResult(storetest.Result("alpine:3.20", "sha256:abcd"))
		d, err := ev.Evaluate(t.Context(), &in)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range d.Deny {
			out = append(out, r.Msg)
		}
		return out
	}
	write("one")
	opts := policy.Options{Dirs: []string{dir}}
	eng, err := policy.Load(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	rp := server.NewReloadablePolicy(eng, opts)
	if got := denies(rp); !slices.Contains(got, "one") {
		t.Fatalf("before reload: %v", got)
	}
	write("two")
	if got := denies(rp); !slices.Contains(got, "one") {
		t.Fatalf("changed before Reload: %v", got)
	}
	if err := rp.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := denies(rp); !slices.Contains(got, "two") || slices.Contains(got, "one") {
		t.Fatalf("after reload: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "r.rego"), []byte("package org.r\n\ndeny contains 1 if {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rp.Reload(t.Context()); err == nil {
		t.Fatal("a broken directory reloaded")
	}
	if got := denies(rp); !slices.Contains(got, "two") {
		t.Fatalf("after a failed reload: %v", got)
	}
}
