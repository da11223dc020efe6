package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/testutil"
)

// `stella plugin list` discovers, describes and digests the plug-ins, and
// refuses one that is not on the allow-list.
func TestPluginList(t *testing.T) {
	dir := t.TempDir()
	for _, ex := range []string{"vuln-provider", "sbom-mutator"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, ex), "./examples/"+ex)
		cmd.Dir = testutil.RepoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", ex, err, out)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "vuln-provider"))
	sum := sha256.Sum256(b)
	digest := hex.EncodeToString(sum[:])
	allow := filepath.Join(t.TempDir(), "allow")
	os.WriteFile(allow, []byte("# the provider only\nsha256:"+digest+"\n"), 0o644)

	out, code := run(t, "plugin", "list", "--plugin-dir", dir, "--plugin-allow", allow, "-f", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var ps []struct{ File, Name, Kind, Version, SHA256, State string }
	if err := json.Unmarshal([]byte(out), &ps); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.File] = p.State + " " + p.Kind + " " + p.Name
		if p.File == "vuln-provider" && p.SHA256 != digest {
			t.Errorf("digest %s, want %s", p.SHA256, digest)
		}
	}
	if got["vuln-provider"] != "ready vulnerability_provider example-vuln-provider" || !strings.HasPrefix(got["sbom-mutator"], "refused") {
		t.Fatalf("listed %v", got)
	}

	os.WriteFile(allow, []byte("not-a-digest\n"), 0o644)
	if out, code := run(t, "plugin", "list", "--plugin-dir", dir, "--plugin-allow", allow); code != exitUsage || !strings.Contains(out, allow+":1") {
		t.Fatalf("bad allow-list: exit %d: %s", code, out)
	}
}
