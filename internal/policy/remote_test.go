package policy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const opaModule = "github.com/open-policy-agent/opa"

// opaBinary returns OPA's own server built from the Go module proxy at the
// version in go.mod, cached outside the repository under the user cache
// directory (stella-test/opa-<version>/opa). It never skips: without the
// binary the test fails and says how to build it.
func opaBinary(t testing.TB) string {
	t.Helper()
	// The version go.mod requires (a test binary has no module build info).
	out, err := exec.Command("go", "list", "-m", "-f", "{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}", opaModule).Output()
	version := strings.TrimSpace(string(out))
	if err != nil || version == "" {
		t.Fatalf("go list -m %s: %v: is OPA in go.mod?", opaModule, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "stella-test", "opa-"+version)
	bin := filepath.Join(dir, "opa")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	how := fmt.Sprintf("GOBIN=%s go install %s@%s", dir, opaModule, version)
	t.Logf("building OPA %s once: %s", version, how)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Built outside this module, with OPA's own go.mod, into a temporary
	// name renamed into place so that a half-built binary is never used.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", opaModule+"@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false")
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("building OPA's server failed: %v\n%s\nInstall it by hand with:\n  %s", err, out, how)
	}
	if err := os.Rename(filepath.Join(tmp, "opa"), bin); err != nil {
		t.Fatalf("%v\nInstall it by hand with:\n  %s", err, how)
	}
	return bin
}

// startOPA runs `opa run --server` on a loopback port with bundle and
// waits for /health.
func startOPA(t testing.TB, bundle string) string {
	t.Helper()
	bin := opaBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs strings.Builder
	cmd := exec.Command(bin, "run", "--server", "--addr", addr, "--skip-version-check", "--disable-telemetry", "--log-level", "error", bundle)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("OPA server on %s not healthy after 60s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The same bundle gives the same decisions in-process and from OPA's own
// server over its REST Data API.
func TestRemoteMatchesInProcess(t *testing.T) {
	e := mustLoad(t, Options{Dirs: []string{"testdata/org"}})
	bundle := t.TempDir()
	if err := e.WriteBundle(bundle); err != nil {
		t.Fatal(err)
	}
	r, err := NewRemote(startOPA(t, bundle), nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waived := finding("CVE-2024-0001", "openssl", SeverityCritical, "3.0.2")
	expired := finding("CVE-2024-0002", "openssl", SeverityCritical, "3.0.2")
	kev := finding("CVE-2024-0003", "curl", SeverityLow)
	kev.KEV, kev.EPSS = true, 0.97
	stale := input("registry.acme.test/team/app:1", waived, expired, kev)
	stale.Provenance = Provenance{DBAgeHours: 100.5, StellaVersion: "dev", Analyzers: map[string]int{"dpkg": 1}}
	big := syntheticInput(500)
	big.Image.Name = "registry.acme.test/team/big:2"
	cases := []struct {
		name string
		in   *Input
	}{
		{"empty", input("registry.acme.test/team/app:1")},
		{"docker hub latest", input("docker.io/library/nginx:latest")},
		{"waived, expired and kev", stale},
		{"other image, no waiver", input("registry.acme.test/other/app:1", waived, expired)},
		{"500 findings", big},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			local, err := e.Evaluate(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			remote, err := r.Evaluate(context.Background(), c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(local, remote) {
				t.Errorf("decisions differ:\nin-process %+v\nOPA server %+v", local, remote)
			}
			// An input sent without its summary (by another client): the
			// bundle computes it from the findings on the OPA server.
			bare := *c.in
			bare.Summary = nil
			computed, err := r.decide(context.Background(), &bare)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(local, computed) {
				t.Errorf("decisions differ:\nin-process %+v\nOPA server, no summary %+v", local, computed)
			}
			t.Logf("%s (all three)", local.Summary())
		})
	}
	t.Run("undefined decision", func(t *testing.T) {
		empty := t.TempDir()
		r2, _ := NewRemote(startOPA(t, empty), nil, 5*time.Second)
		_, err := r2.Evaluate(context.Background(), input("x"))
		if err == nil || !strings.Contains(err.Error(), "undefined") {
			t.Errorf("want an undefined-decision error, got %v", err)
		}
	})
}
