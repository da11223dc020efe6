package plugin_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/plugin"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/testutil"
)

func TestMain(m *testing.M) {
	plugin.RunLauncherIfRequested()
	matchtest.Main(m)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the three example plug-ins and the misbehaving one
// once per test run.
func binaries(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root := testutil.RepoRoot(t)
		binDir, buildErr = os.MkdirTemp("", "stella-plugin-bins-")
		if buildErr != nil {
			return
		}
		for name, pkg := range map[string]string{
			"sbom-mutator":  "./examples/sbom-mutator",
			"vuln-provider": "./examples/vuln-provider",
			"result-sink":   "./examples/result-sink",
			"misbehave":     "./internal/plugin/testdata/misbehave",
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// pluginDir makes a plug-in directory holding copies of the named
// binaries (as the given file names) and their configurations.
func pluginDir(t testing.TB, files map[string]string, configs map[string]any) string {
	t.Helper()
	bins := binaries(t)
	dir := t.TempDir()
	for file, bin := range files {
		b, err := os.ReadFile(filepath.Join(bins, bin))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for file, cfg := range configs {
		b, _ := json.Marshal(cfg)
		if err := os.WriteFile(filepath.Join(dir, file+".json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha(t testing.TB, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func open(t *testing.T, cfg plugin.Config) *plugin.Host {
	t.Helper()
	h, err := plugin.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func byFile(ps []report.Plugin) map[string]report.Plugin {
	m := map[string]report.Plugin{}
	for _, p := range ps {
		m[p.File] = p
	}
	return m
}

// The three example plug-ins in a real scan of the debian-app fixture:
// the mutator changes the SBOM, the provider adds a finding, the sink
// receives the result; every plug-in's digest is in the provenance.
func TestExamplePlugins(t *testing.T) {
	// The sink runs under the plug-in UID: its directory must be reachable
	// (t.TempDir's parent is not).
	out, err := os.MkdirTemp("", "stella-sink-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(out) })
	os.Chmod(out, 0o777)
	dir := pluginDir(t,
		map[string]string{"sbom-mutator": "sbom-mutator", "vuln-provider": "vuln-provider", "result-sink": "result-sink"},
		map[string]any{
			"sbom-mutator":  map[string]any{"owners": map[string]string{"lib": "platform-team"}, "vendored": map[string]string{"name": "acme-sdk", "version": "2.4.1"}},
			"vuln-provider": map[string]any{"advisories": []map[string]string{{"id": "ACME-2026-0001", "package": "zlib1g", "severity": "high", "fixed": "1:1.3", "summary": "internal advisory"}}},
			"result-sink":   map[string]any{"dir": out},
		})
	if err := os.WriteFile(filepath.Join(dir, "org.rego"), []byte("package org.extra\n\nimport rego.v1\n\nwarn contains \"from a plug-in\" if false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := open(t, plugin.Config{Dir: dir})
	listed := byFile(h.Provenance())
	for file, kind := range map[string]string{"sbom-mutator": "sbom_mutator", "vuln-provider": "vulnerability_provider", "result-sink": "result_sink", "org.rego": "rego"} {
		p := listed[file]
		if p.Kind != kind || p.State != plugin.StateReady || p.SHA256 != sha(t, filepath.Join(dir, file)) {
			t.Errorf("%s listed as %+v", file, p)
		}
	}
	if d := h.RegoDir(); d == "" {
		t.Error("no policy directory for org.rego")
	} else if b, err := os.ReadFile(filepath.Join(d, "org.rego")); err != nil || !strings.Contains(string(b), "package org.extra") {
		t.Errorf("the copy of org.rego: %q, %v", b, err)
	}

	image := "oci:" + filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "debian-app", "oci")
	res, err := scan.Scan(t.Context(), image, scan.ScanOptions{DB: matchtest.Open(t), Plugins: h, Options: scan.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	prov := byFile(res.Provenance.Plugins)
	for _, f := range []string{"sbom-mutator", "vuln-provider"} {
		if p := prov[f]; p.State != "ok" || p.SHA256 == "" {
			t.Errorf("provenance of %s: %+v", f, p)
		}
	}
	if p := prov["result-sink"]; p.SHA256 != sha(t, filepath.Join(dir, "result-sink")) {
		t.Errorf("provenance of the sink: %+v", p)
	}
	var vendored, owned bool
	for _, p := range res.SBOM.Packages {
		if p.Name == "acme-sdk" && p.Version == "2.4.1" {
			vendored = true
		}
		if strings.HasPrefix(p.Name, "lib") && p.Metadata["owner"] == "platform-team" && len(p.Paths) > 0 {
			owned = true // kept its location
		}
	}
	if !vendored || !owned {
		t.Errorf("mutated SBOM: vendored package %v, owner metadata with locations kept %v", vendored, owned)
	}
	var provided *match.Finding
	for i, f := range res.Findings {
		if f.ID == "ACME-2026-0001" {
			provided = &res.Findings[i]
		}
	}
	if provided == nil || provided.Package.Name != "zlib1g" || provided.Severity.Label != "HIGH" || provided.Package.Layer == "" {
		t.Fatalf("provider finding = %+v", provided)
	}

	runs := h.Deliver(t.Context(), "scan-42", "acme", res)
	if len(runs) != 1 || runs[0].State != "ok" {
		t.Fatalf("deliver: %+v", runs)
	}
	b, err := os.ReadFile(filepath.Join(out, "scan-42.json"))
	if err != nil {
		t.Fatal(err)
	}
	var back report.Result
	if err := json.Unmarshal(b, &back); err != nil || back.Target != res.Target || len(back.Findings) != len(res.Findings) {
		t.Fatalf("the sink wrote %d bytes: target %q, %d findings (%v)", len(b), back.Target, len(back.Findings), err)
	}
}

func doc() *sbom.Document {
	return &sbom.Document{Target: "test", Packages: []sbom.Package{{ID: "p1", Name: "zlib1g", Version: "1:1.2", Ecosystem: "debian"}}}
}

// A plug-in that crashes, one that sleeps forever and one that allocates
// without bound: each is killed and reported, the others still answer,
// and none outlives its call.
func TestMisbehavingPlugins(t *testing.T) {
	dir := pluginDir(t,
		map[string]string{"crash": "misbehave", "hang": "misbehave", "hog": "misbehave", "good": "vuln-provider"},
		map[string]any{
			"crash": map[string]string{"mode": "crash"}, "hang": map[string]string{"mode": "hang"}, "hog": map[string]string{"mode": "hog"},
			"good": map[string]any{"advisories": []map[string]string{{"id": "ACME-1", "package": "zlib1g", "severity": "low"}}},
		})
	h := open(t, plugin.Config{Dir: dir, CallTimeout: 3 * time.Second, Memory: 256 << 20})
	for _, p := range h.Plugins() {
		if p.State != plugin.StateReady {
			t.Fatalf("%s: %+v", p.File, p)
		}
	}
	t0 := time.Now()
	fs, runs := h.Provide(context.Background(), doc())
	took := time.Since(t0)
	if len(fs) != 1 || fs[0].ID != "ACME-1" {
		t.Errorf("findings %+v, want the good provider's one", fs)
	}
	got := byFile(runs)
	for file, want := range map[string]string{"crash": "crashed", "hang": "did not answer within 3s: killed", "hog": "ran out of its 256 MiB"} {
		if r := got[file]; r.State != "failed" || !strings.Contains(r.Error, want) {
			t.Errorf("%s: state %s, error %q; want %q", file, r.State, r.Error, want)
		}
	}
	if r := got["good"]; r.State != "ok" {
		t.Errorf("good: %+v", r)
	}
	if took > 30*time.Second {
		t.Errorf("the four calls took %s", took)
	}
	// No plug-in process is left behind.
	out, _ := exec.Command("pgrep", "-f", "stella-plugins-.*/(crash|hang|hog|good)$").Output()
	if s := strings.TrimSpace(string(out)); s != "" {
		t.Errorf("plug-in processes left: %s", s)
	}
}

// The sandbox: no secret of Stella's environment reaches a plug-in, and a
// root Stella runs it under the plug-in UID.
func TestSandboxEnvironment(t *testing.T) {
	t.Setenv("STELLA_JWT_SECRET", "do-not-leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
	dir := pluginDir(t, map[string]string{"env": "misbehave"}, map[string]any{"env": map[string]string{"mode": "env"}})
	h := open(t, plugin.Config{Dir: dir})
	fs, runs := h.Provide(context.Background(), doc())
	if len(runs) != 1 || runs[0].State != "ok" {
		t.Fatalf("runs %+v", runs)
	}
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.ID)
	}
	for _, id := range ids {
		if strings.Contains(id, "SECRET") || strings.Contains(id, "AWS") || strings.Contains(id, "STELLA_JWT") {
			t.Errorf("leaked into the plug-in: %s", id)
		}
	}
	if !slices.Contains(ids, "ENV-PATH") || !slices.Contains(ids, "ENV-STELLA_PLUGIN_CONFIG") {
		t.Errorf("environment seen by the plug-in: %v", ids)
	}
	wantUID := fmt.Sprintf("UID-%d", os.Getuid())
	if os.Geteuid() == 0 {
		wantUID = fmt.Sprintf("UID-%d", plugin.DefaultUID)
	}
	if !slices.Contains(ids, wantUID) {
		t.Errorf("plug-in ran as %v, want %s", ids, wantUID)
	}
}

// With an allow-list, a plug-in whose digest is not on it is refused and
// never started; a file that is not a plug-in is listed as broken.
func TestAllowListAndBroken(t *testing.T) {
	dir := pluginDir(t, map[string]string{"good": "vuln-provider", "other": "sbom-mutator"},
		map[string]any{"good": map[string]any{"advisories": []map[string]string{{"id": "ACME-1", "package": "zlib1g"}}}})
	if err := os.WriteFile(filepath.Join(dir, "not-a-plugin"), []byte("#!/bin/sh\necho hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h := open(t, plugin.Config{Dir: dir, Allow: []string{"sha256:" + sha(t, filepath.Join(dir, "good")), sha(t, filepath.Join(dir, "not-a-plugin"))}, CallTimeout: 5 * time.Second})
	got := byFile(h.Provenance())
	if p := got["other"]; p.State != plugin.StateRefused || p.Kind != "" {
		t.Errorf("other: %+v", p)
	}
	if p := got["good"]; p.State != plugin.StateReady {
		t.Errorf("good: %+v", p)
	}
	if p := got["not-a-plugin"]; p.State != plugin.StateBroken || p.Error == "" {
		t.Errorf("not-a-plugin: %+v", p)
	}
	d, runs := h.MutateSBOM(context.Background(), doc())
	if len(runs) != 0 || len(d.Packages) != 1 {
		t.Errorf("the refused mutator ran: %+v", runs)
	}
}

// An absent directory means no plug-ins; an unreadable one is an error
// naming it.
func TestDirectory(t *testing.T) {
	h := open(t, plugin.Config{Dir: filepath.Join(t.TempDir(), "none")})
	if len(h.Plugins()) != 0 {
		t.Fatal("plug-ins from nowhere")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := plugin.Open(t.Context(), plugin.Config{Dir: f}); err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("a file as directory: %v", err)
	}
}

// BenchmarkPluginCall is the overhead a plug-in adds to a scan: one
// provider call on a small SBOM, with the process started, described by
// the handshake, called and killed (make bench).
func BenchmarkPluginCall(b *testing.B) {
	dir := pluginDir(b, map[string]string{"good": "vuln-provider"}, map[string]any{"good": map[string]any{"advisories": []map[string]string{{"id": "ACME-1", "package": "zlib1g"}}}})
	h, err := plugin.Open(context.Background(), plugin.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	d := doc()
	for b.Loop() {
		if fs, runs := h.Provide(context.Background(), d); len(fs) != 1 || runs[0].State != "ok" {
			b.Fatalf("%v %v", fs, runs)
		}
	}
}
