package release_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/release"
	"github.com/stella-scan/stella/internal/testutil"
)

const ldflags = "-s -w -buildid= -X main.version=v0.0.0-test"

var (
	binOnce sync.Once
	bins    [2]string
	binErr  error
)

// staticBinaries builds the release binary twice, as make release does,
// into two places.
func staticBinaries(t *testing.T) [2]string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "stella-release-test-")
		if err != nil {
			binErr = err
			return
		}
		for i := range bins {
			bins[i] = filepath.Join(dir, string(rune('a'+i)), "stella")
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", bins[i], "./cmd/stella")
			cmd.Dir = testutil.RepoRoot(t)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = err
				bins[i] = string(out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v\n%s", binErr, bins[0])
	}
	return bins
}

func fileSHA(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func publish(t *testing.T, bin, key string) *release.Result {
	t.Helper()
	res, err := release.Publish(t.Context(), release.PublishOptions{
		Options: release.Options{Binary: bin, Version: "v0.0.0-test", Commit: "0123abc", Created: time.Unix(1700000000, 0)},
		Out:     t.TempDir(), Repo: "ghcr.io/stella-scan/stella", Key: key, LDFlags: ldflags,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Two builds of the same commit: byte-identical binaries, the same image
// digest, byte-identical docker-archives.
func TestReproducible(t *testing.T) {
	b := staticBinaries(t)
	if fileSHA(t, b[0]) != fileSHA(t, b[1]) {
		t.Fatal("two builds of the binary differ")
	}
	r1, r2 := publish(t, b[0], ""), publish(t, b[1], "")
	if r1.Digest != r2.Digest || !strings.HasPrefix(r1.Digest, "sha256:") {
		t.Fatalf("image digests %s and %s", r1.Digest, r2.Digest)
	}
	if fileSHA(t, r1.Archive) != fileSHA(t, r2.Archive) {
		t.Fatal("the docker-archives differ")
	}
}

// Stella's SBOM of its own image lists the Go modules the binary was
// built from, as `go version -m` reads them.
func TestSelfScanFindsGoModules(t *testing.T) {
	b := staticBinaries(t)
	res := publish(t, b[0], "")
	out, err := exec.Command("go", "version", "-m", b[0]).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 3 && f[0] == "dep" {
			want[f[1]+"@"+f[2]] = true
		}
	}
	if len(want) < 50 {
		t.Fatalf("go version -m lists only %d deps", len(want))
	}
	sbomOut, err := exec.Command(b[0], "sbom", "-f", "json", "--no-cache", "oci:"+res.Layout).Output()
	if err != nil {
		t.Fatalf("stella sbom of its own image: %v", err)
	}
	var doc struct {
		Packages []struct{ Name, Version, Ecosystem string }
	}
	if err := json.Unmarshal(sbomOut, &doc); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, p := range doc.Packages {
		if p.Ecosystem == "golang" {
			got[p.Name+"@"+p.Version] = true
		}
	}
	for m := range want {
		if !got[m] {
			t.Errorf("module %s of the binary is not in the image's SBOM", m)
		}
	}
}

// copyDir copies an OCI layout to tamper with.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// blobOf finds the blob of a manifest layer: of the image (its layer), of
// the CycloneDX referrer, or of the signature payload.
func blobOf(t *testing.T, dir, what string) string {
	t.Helper()
	var idx struct {
		Manifests []struct {
			Digest, ArtifactType string
			Annotations          map[string]string
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "index.json"))
	json.Unmarshal(b, &idx)
	path := func(d string) string { return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")) }
	for _, m := range idx.Manifests {
		name := m.Annotations["org.opencontainers.image.ref.name"]
		match := (what == "image" && m.ArtifactType == "application/vnd.oci.image.config.v1+json") ||
			(what == "sbom" && m.ArtifactType == release.CycloneDXType) ||
			(what == "signature" && strings.HasSuffix(name, ".sig"))
		if !match {
			continue
		}
		mb, _ := os.ReadFile(path(m.Digest))
		var man struct{ Layers []struct{ Digest string } }
		json.Unmarshal(mb, &man)
		return path(man.Layers[0].Digest)
	}
	t.Fatalf("no %s in %s", what, dir)
	return ""
}

// `stella verify` passes on the signed image and fails once one byte of
// the image, the SBOM or the signature changes, or with another key.
func TestVerifyDetectsTampering(t *testing.T) {
	b := staticBinaries(t)
	keys := t.TempDir()
	priv, pubFile := filepath.Join(keys, "cosign.key"), filepath.Join(keys, "cosign.pub")
	if err := release.GenerateKey(priv, pubFile); err != nil {
		t.Fatal(err)
	}
	pb, _ := os.ReadFile(pubFile)
	pub, err := image.ParsePublicKey(pb)
	if err != nil {
		t.Fatal(err)
	}
	res := publish(t, b[0], priv)
	rep, err := release.VerifyLayout(res.Layout, "", pub)
	if err != nil {
		t.Fatalf("verify the signed image: %v", err)
	}
	if rep.Digest != res.Digest || len(rep.Lines) < 5 {
		t.Fatalf("report %+v", rep)
	}
	for _, what := range []string{"image", "sbom", "signature"} {
		t.Run(what, func(t *testing.T) {
			dir := copyDir(t, res.Layout)
			p := blobOf(t, dir, what)
			data, _ := os.ReadFile(p)
			data[len(data)/2] ^= 0x01
			os.WriteFile(p, data, 0o644)
			if _, err := release.VerifyLayout(dir, "", pub); err == nil {
				t.Fatalf("one byte of the %s changed and verify passed", what)
			} else {
				t.Logf("refused: %v", err)
			}
		})
	}
	other := t.TempDir()
	release.GenerateKey(filepath.Join(other, "k"), filepath.Join(other, "k.pub"))
	ob, _ := os.ReadFile(filepath.Join(other, "k.pub"))
	opub, _ := image.ParsePublicKey(ob)
	if _, err := release.VerifyLayout(res.Layout, "", opub); err == nil || !strings.Contains(err.Error(), "no signature verifies") {
		t.Fatalf("another key: %v", err)
	}
	unsigned := publish(t, b[0], "")
	if _, err := release.VerifyLayout(unsigned.Layout, "", pub); err == nil {
		t.Fatal("an unsigned image verified")
	}
}
