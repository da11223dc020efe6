package release_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/release"
	"github.com/stella-scan/stella/internal/testutil"
)

const (
	ldflags = "-s -w -buildid= -X main.version=v0.0.0-test"
	epoch   = 1700000000
)

var (
	binOnce sync.Once
	binDir  string
	bins    [2]string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// staticBinaries builds the release binary twice as make release does
// (CGO_ENABLED=0, -trimpath, -buildvcs=false, the release ldflags), from
// two working directories (the repository root and cmd/stella) into two
// places. The Go build cache is shared: compiled packages are reused,
// each binary is linked anew.
func staticBinaries(t *testing.T) [2]string {
	t.Helper()
	binOnce.Do(func() {
		root := testutil.RepoRoot(t)
		binDir, binErr = os.MkdirTemp("", "stella-release-test-")
		if binErr != nil {
			return
		}
		for i, b := range []struct{ dir, pkg string }{{root, "./cmd/stella"}, {filepath.Join(root, "cmd", "stella"), "."}} {
			bins[i] = filepath.Join(binDir, string(rune('a'+i)), "stella")
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags", ldflags, "-o", bins[i], b.pkg)
			cmd.Dir = b.dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build in %s: %v\n%s", b.dir, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return bins
}

var (
	relOnce   sync.Once
	signedRel *release.Result
	relKey    [2]string // private, public key files
	relErr    error
)

// signedRelease publishes, once, the first binary signed with a new key:
// the release the tests inspect, verify and tamper with (copies of it).
func signedRelease(t *testing.T) (*release.Result, string, string) {
	t.Helper()
	b := staticBinaries(t)
	relOnce.Do(func() {
		dir, err := os.MkdirTemp(binDir, "release-")
		if err != nil {
			relErr = err
			return
		}
		relKey = [2]string{filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")}
		if relErr = release.GenerateKey(relKey[0], relKey[1]); relErr != nil {
			return
		}
		signedRel, relErr = release.Publish(t.Context(), publishOptions(b[0], relKey[0], filepath.Join(dir, "dist")))
	})
	if relErr != nil {
		t.Fatal(relErr)
	}
	return signedRel, relKey[0], relKey[1]
}

func publishOptions(bin, key, out string) release.PublishOptions {
	return release.PublishOptions{
		Options: release.Options{Binary: bin, Version: "v0.0.0-test", Commit: "0123abc", Created: time.Unix(epoch, 0)},
		Out:     out, Repo: "ghcr.io/stella-scan/stella", Key: key, LDFlags: ldflags,
	}
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func publish(t *testing.T, bin, key string) *release.Result {
	t.Helper()
	res, err := release.Publish(t.Context(), publishOptions(bin, key, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// index reads a layout's index.json.
type indexEntry struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType,omitempty"`
	Manifests     []indexEntry `json:"manifests"`
}

func readIndex(t *testing.T, dir string) index {
	t.Helper()
	var idx index
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	return idx
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

type ociManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType,omitempty"`
	Config        indexEntry        `json:"config"`
	Layers        []indexEntry      `json:"layers"`
	Subject       *indexEntry       `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

func readManifest(t *testing.T, dir, digest string) ociManifest {
	t.Helper()
	var m ociManifest
	b, err := os.ReadFile(blobPath(dir, digest))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// find returns the index entry of the image, the CycloneDX referrer, the
// signature (.sig) or the attestations (.att).
func find(t *testing.T, dir, what string) (int, indexEntry) {
	t.Helper()
	for i, m := range readIndex(t, dir).Manifests {
		name := m.Annotations["org.opencontainers.image.ref.name"]
		if (what == "image" && m.Annotations["io.containerd.image.name"] == "ghcr.io/stella-scan/stella:v0.0.0-test" && name == "v0.0.0-test") ||
			(what == "sbom" && m.ArtifactType == release.CycloneDXType) ||
			(what == "spdx" && m.ArtifactType == release.SPDXType) ||
			(what == "signature" && strings.HasSuffix(name, ".sig")) ||
			(what == "attestation" && strings.HasSuffix(name, ".att")) {
			return i, m
		}
	}
	t.Fatalf("no %s in %s", what, dir)
	return 0, indexEntry{}
}

// Two builds of the same commit, from two working directories: byte-
// identical binaries, the same image digest, byte-identical
// docker-archives and SBOM referrers.
var unsignedRel *release.Result

func TestReproducible(t *testing.T) {
	b := staticBinaries(t)
	if fileSHA(t, b[0]) != fileSHA(t, b[1]) {
		t.Fatal("two builds of the binary differ")
	}
	r1, _, _ := signedRelease(t)
	// Signatures do not change the image; this one stays unsigned (and
	// is kept for TestVerifyDetectsTampering).
	out, err := os.MkdirTemp(binDir, "unsigned-")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := release.Publish(t.Context(), publishOptions(b[1], "", out))
	if err != nil {
		t.Fatal(err)
	}
	unsignedRel = r2
	if r1.Digest != r2.Digest || !strings.HasPrefix(r1.Digest, "sha256:") {
		t.Fatalf("image digests %s and %s", r1.Digest, r2.Digest)
	}
	if fileSHA(t, r1.Archive) != fileSHA(t, r2.Archive) {
		t.Fatal("the docker-archives differ")
	}
	for _, what := range []string{"sbom", "spdx"} {
		_, s1 := find(t, r1.Layout, what)
		_, s2 := find(t, r2.Layout, what)
		if s1.Digest != s2.Digest {
			t.Errorf("the %s referrers differ: %s and %s", what, s1.Digest, s2.Digest)
		}
	}
	t.Logf("image %s", r1.Digest)
}

// The image is distroless-style and its layer deterministic: no shell, user
// 65532, the binary, CA certificates, /etc/passwd and /etc/group, an
// empty plug-in directory; tar entries sorted with fixed times and owners
// and no PAX records; the config's timestamps are SOURCE_DATE_EPOCH.
func TestImageContents(t *testing.T) {
	b := staticBinaries(t)
	res, _, _ := signedRelease(t)
	_, img := find(t, res.Layout, "image")
	if img.Digest != res.Digest {
		t.Fatalf("index names %s, release printed %s", img.Digest, res.Digest)
	}
	m := readManifest(t, res.Layout, img.Digest)
	if len(m.Layers) != 1 || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("manifest %+v", m)
	}
	var cfg struct {
		Architecture, OS string
		Created          time.Time
		Config           struct {
			User       string
			Entrypoint []string
			Env        []string
		}
		History []struct{ Created time.Time }
	}
	cb, _ := os.ReadFile(blobPath(res.Layout, m.Config.Digest))
	if err := json.Unmarshal(cb, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != "65532:65532" || cfg.Architecture != runtime.GOARCH || cfg.OS != "linux" ||
		!cfg.Created.Equal(time.Unix(epoch, 0)) || len(cfg.History) != 1 || !cfg.History[0].Created.Equal(time.Unix(epoch, 0)) ||
		len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != release.BinaryPath {
		t.Fatalf("config %s", cb)
	}
	f, err := os.Open(blobPath(res.Layout, m.Layers[0].Digest))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q time %v", zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	var prev string
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if name <= prev {
			t.Errorf("entry %s after %s: not sorted", name, prev)
		}
		if dir := filepath.Dir(name); dir != "." && !seen[dir] {
			t.Errorf("entry %s before its directory", name)
		}
		prev, seen[name] = name, true
		if !h.ModTime.Equal(time.Unix(epoch, 0)) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) != 0 || h.Uname != "" {
			t.Errorf("%s: mtime %v atime %v ctime %v pax %v uname %q", name, h.ModTime, h.AccessTime, h.ChangeTime, h.PAXRecords, h.Uname)
		}
		if h.Uid != h.Gid || (h.Uid != 0 && h.Uid != release.UID) {
			t.Errorf("%s: owner %d:%d", name, h.Uid, h.Gid)
		}
		base := filepath.Base(name)
		if base == "sh" || base == "bash" || base == "busybox" || name == "bin" {
			t.Errorf("the image has a shell: %s", name)
		}
		if h.Typeflag == tar.TypeReg {
			files[name], _ = io.ReadAll(tr)
		} else {
			files[name] = nil
		}
	}
	if !bytes.Contains(files["etc/passwd"], []byte("nonroot:x:65532:65532:")) || !bytes.Contains(files["etc/group"], []byte("nonroot:x:65532:")) {
		t.Errorf("passwd %q group %q", files["etc/passwd"], files["etc/group"])
	}
	if _, ok := files["opt/stella/plugins"]; !ok {
		t.Error("no /opt/stella/plugins")
	}
	for n := range files {
		if strings.HasPrefix(n, "opt/stella/plugins/") {
			t.Errorf("the plug-in directory is not empty: %s", n)
		}
	}
	certs, err := os.ReadFile(release.CACerts)
	if err != nil {
		t.Fatalf("the build machine's CA bundle: %v (apt-get install ca-certificates)", err)
	}
	if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"], certs) {
		t.Error("the CA bundle in the image is not the build machine's")
	}
	if fileSHA(t, b[0]) != func() string { s := sha256.Sum256(files["usr/local/bin/stella"]); return hex.EncodeToString(s[:]) }() {
		t.Error("the image's binary is not the built one")
	}
}

// goModules reads the Go modules of a binary as `go version -m` lists them.
func goModules(t *testing.T, bin string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "version", "-m", bin).Output()
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
	return want
}

// stellaModules runs stella (scan or sbom, -f json) and returns the Go
// modules it lists, after checking where the packages came from.
func stellaModules(t *testing.T, bin, source string, args ...string) map[string]bool {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STELLA_CACHE="+filepath.Join(tmp, "cache"), "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("stella %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	type pkgs struct {
		Source   string
		Packages []struct{ Name, Version, Ecosystem string }
	}
	var doc struct {
		pkgs
		SBOM *pkgs `json:"sbom"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.pkgs
	if doc.SBOM != nil {
		p = *doc.SBOM
	}
	if p.Source != source {
		t.Errorf("stella %s: packages from %q, want %q", args[0], p.Source, source)
	}
	got := map[string]bool{}
	for _, p := range p.Packages {
		if p.Ecosystem == "golang" {
			got[p.Name+"@"+p.Version] = true
		}
	}
	return got
}

// `stella scan` of Stella's own image (its layers unpacked) lists every Go
// module the binary was built from, as `go version -m` reads them.
func TestSelfScanFindsGoModules(t *testing.T) {
	b := staticBinaries(t)
	res, _, _ := signedRelease(t)
	db := filepath.Join(t.TempDir(), "stella.db")
	if out, err := exec.Command(b[0], "db", "sync", "--mirror", testutil.FeedsDir(t), "--db", db).CombinedOutput(); err != nil {
		t.Fatalf("db sync: %v\n%s", err, out)
	}
	got := stellaModules(t, b[0], "unpack", "scan", "-f", "json", "--sbom-source", "unpack", "--db", db, "oci:"+res.Layout)
	for m := range goModules(t, b[0]) {
		if !got[m] {
			t.Errorf("stella scan: module %s of the binary is not listed", m)
		}
	}
}

// The signed release pushed to a real registry (go-containerregistry's, on
// loopback): `stella verify` of the registry reference checks the
// signature, the attestations and the SBOM referrer there; `stella sbom`
// finds the attached SBOM through the referrers API, without unpacking;
// once the tag names another (unsigned) image, verification fails.
func TestPushedRelease(t *testing.T) {
	b := staticBinaries(t)
	res, _, pubFile := signedRelease(t)
	host := testutil.Registry(t)
	repo := host + "/stella-scan/stella"
	out, err := exec.Command(b[0], "release", "push", res.Layout, repo).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != repo+"@"+res.Digest {
		t.Fatalf("stella release push: %v\n%s", err, out)
	}
	ref := repo + ":v0.0.0-test"
	vout, err := exec.Command(b[0], "verify", ref, "--key", pubFile).CombinedOutput()
	if err != nil {
		t.Fatalf("stella verify %s: %v\n%s", ref, err, vout)
	}
	for _, want := range []string{"signature: simple signing of " + res.Digest, "attestation " + release.SLSAProvenance,
		"SBOM referrer " + release.CycloneDXType, "OK " + res.Digest} {
		if !strings.Contains(string(vout), want) {
			t.Errorf("stella verify %s: no %q in\n%s", ref, want, vout)
		}
	}
	got := stellaModules(t, b[0], "attached:referrer", "sbom", "-f", "json", "--sbom-source", "attached", ref)
	for m := range goModules(t, b[0]) {
		if !got[m] {
			t.Errorf("the attached SBOM does not list module %s", m)
		}
	}
	// The tag moved to an image nobody signed.
	if _, err := testutil.PushLayout(filepath.Join(testutil.SharedDir(t), "testdata", "images", "alpine-3.14-apk", "oci"), ref); err != nil {
		t.Fatal(err)
	}
	vout, err = exec.Command(b[0], "verify", ref, "--key", pubFile).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(vout), "no signature") {
		t.Fatalf("stella verify of an unsigned image: %v\n%s", err, vout)
	}
}

// rewrite changes the blob of layer li of the index entry at position
// pos with change, and re-addresses everything above it (manifest digest,
// index.json) as a forger would, so that only a signature can tell.
func rewrite(t *testing.T, dir string, pos, li int, change func([]byte) []byte, changeManifest func(*ociManifest)) {
	t.Helper()
	idx := readIndex(t, dir)
	e := idx.Manifests[pos]
	m := readManifest(t, dir, e.Digest)
	if change != nil {
		b, err := os.ReadFile(blobPath(dir, m.Layers[li].Digest))
		if err != nil {
			t.Fatal(err)
		}
		b = change(b)
		m.Layers[li].Digest, m.Layers[li].Size = writeBlob(t, dir, b)
	}
	if changeManifest != nil {
		changeManifest(&m)
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	idx.Manifests[pos].Digest, idx.Manifests[pos].Size = writeBlob(t, dir, raw)
	ib, _ := json.Marshal(idx)
	replaceFile(t, filepath.Join(dir, "index.json"), ib)
}

func writeBlob(t *testing.T, dir string, b []byte) (string, int64) {
	t.Helper()
	s := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(s[:])
	replaceFile(t, blobPath(dir, d), b)
	return d, int64(len(b))
}

// copyDir copies an OCI layout to tamper with (as hard links: cheap).
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
		return os.Link(p, filepath.Join(dst, rel)) // writers below replace files, never write through
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// replaceFile writes a new file in place of p (breaking a hard link).
func replaceFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, p string) {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	replaceFile(t, p, data)
}

func keyPair(t *testing.T) (priv, pub string) {
	t.Helper()
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := release.GenerateKey(priv, pub); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// verifyCLI runs `stella verify` (the built binary) and returns its
// output and exit code.
func verifyCLI(t *testing.T, bin, layout, pub string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, "verify", "oci:"+layout, "--key", pub).CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// `stella verify` passes on the signed image and fails once one byte of
// the image (layer, manifest, config), the SBOM, the signature or an
// attestation changes, also when the forger re-addresses the changed
// blob so that only the signatures can tell, or with another key.
func TestVerifyDetectsTampering(t *testing.T) {
	b := staticBinaries(t)
	res, _, pubFile := signedRelease(t)
	pb, _ := os.ReadFile(pubFile)
	pub, err := image.ParsePublicKey(pb)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := release.VerifyLayout(res.Layout, "", pub)
	if err != nil {
		t.Fatalf("verify the signed image: %v", err)
	}
	if rep.Digest != res.Digest || len(rep.Lines) != 7 {
		t.Fatalf("report %+v", rep)
	}
	out, code := verifyCLI(t, b[0], res.Layout, pubFile)
	for _, want := range []string{"signature: simple signing of " + res.Digest + " (ghcr.io/stella-scan/stella)", "attestation " + release.SLSAProvenance,
		"attestation " + release.CycloneDXBOM, "attestation " + release.SPDXBOM,
		"SBOM referrer " + release.CycloneDXType, "SBOM referrer " + release.SPDXType, "OK " + res.Digest} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("stella verify: exit %d, no %q in\n%s", code, want, out)
		}
	}

	// The cosign formats, as cosign writes and reads them.
	_, sigEntry := find(t, res.Layout, "signature")
	sm := readManifest(t, res.Layout, sigEntry.Digest)
	if sigEntry.Annotations["org.opencontainers.image.ref.name"] != "sha256-"+strings.TrimPrefix(res.Digest, "sha256:")+".sig" ||
		sm.Config.MediaType != "application/vnd.oci.image.config.v1+json" || len(sm.Layers) != 1 ||
		sm.Layers[0].MediaType != release.SimpleSigningType || sm.Layers[0].Annotations[release.SignatureAnn] == "" {
		t.Fatalf("signature manifest %+v", sm)
	}
	payload, _ := os.ReadFile(blobPath(res.Layout, sm.Layers[0].Digest))
	if want := `{"critical":{"identity":{"docker-reference":"ghcr.io/stella-scan/stella"},"image":{"docker-manifest-digest":"` + res.Digest + `"},"type":"cosign container image signature"},"optional":null}`; string(payload) != want {
		t.Fatalf("simple-signing payload\n%s\nwant\n%s", payload, want)
	}
	_, attEntry := find(t, res.Layout, "attestation")
	am := readManifest(t, res.Layout, attEntry.Digest)
	if len(am.Layers) != 3 || am.Layers[0].MediaType != release.DSSEType || am.Layers[0].Annotations["predicateType"] != release.SLSAProvenance ||
		am.Layers[1].Annotations["predicateType"] != release.CycloneDXBOM || am.Layers[2].Annotations["predicateType"] != release.SPDXBOM {
		t.Fatalf("attestation manifest %+v", am)
	}
	var env release.Envelope
	eb, _ := os.ReadFile(blobPath(res.Layout, am.Layers[0].Digest))
	json.Unmarshal(eb, &env)
	stb, _ := base64.StdEncoding.DecodeString(env.Payload)
	var st struct {
		Type      string `json:"_type"`
		Subject   []release.Subject
		Predicate struct {
			BuildDefinition struct {
				InternalParameters map[string]any
				ExternalParameters struct {
					Source struct{ Digest map[string]string }
				}
			}
			RunDetails struct{ Builder struct{ ID string } }
		}
	}
	json.Unmarshal(stb, &st)
	if env.PayloadType != "application/vnd.in-toto+json" || st.Type != "https://in-toto.io/Statement/v1" || len(st.Subject) != 1 ||
		"sha256:"+st.Subject[0].Digest["sha256"] != res.Digest || st.Predicate.BuildDefinition.InternalParameters["goVersion"] != runtime.Version() ||
		st.Predicate.BuildDefinition.InternalParameters["ldflags"] != ldflags || st.Predicate.BuildDefinition.ExternalParameters.Source.Digest["gitCommit"] != "0123abc" ||
		st.Predicate.RunDetails.Builder.ID == "" {
		t.Fatalf("provenance statement %s", stb)
	}
	_, sbomEntry := find(t, res.Layout, "sbom")
	if rm := readManifest(t, res.Layout, sbomEntry.Digest); rm.Subject == nil || rm.Subject.Digest != res.Digest || rm.ArtifactType != release.CycloneDXType {
		t.Fatalf("SBOM referrer %+v", rm)
	}

	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string
	}{
		{"image layer", func(t *testing.T, dir string) {
			_, e := find(t, dir, "image")
			flipByte(t, blobPath(dir, readManifest(t, dir, e.Digest).Layers[0].Digest))
		}, "does not match its digest"},
		{"image manifest", func(t *testing.T, dir string) {
			_, e := find(t, dir, "image")
			flipByte(t, blobPath(dir, e.Digest))
		}, "does not match its digest"},
		{"image config", func(t *testing.T, dir string) {
			_, e := find(t, dir, "image")
			flipByte(t, blobPath(dir, readManifest(t, dir, e.Digest).Config.Digest))
		}, "does not match its digest"},
		{"SBOM", func(t *testing.T, dir string) {
			_, e := find(t, dir, "sbom")
			flipByte(t, blobPath(dir, readManifest(t, dir, e.Digest).Layers[0].Digest))
		}, "does not match its digest"},
		{"SBOM re-addressed", func(t *testing.T, dir string) {
			i, _ := find(t, dir, "sbom")
			rewrite(t, dir, i, 0, func(b []byte) []byte { return bytes.Replace(b, []byte("cyclonedx-go"), []byte("cyclonedx-gp"), 1) }, nil)
		}, "differs from the signed SBOM attestation"},
		{"SPDX SBOM re-addressed", func(t *testing.T, dir string) {
			i, _ := find(t, dir, "spdx")
			rewrite(t, dir, i, 0, func(b []byte) []byte { return bytes.Replace(b, []byte("cyclonedx-go"), []byte("cyclonedx-gp"), 1) }, nil)
		}, "application/spdx+json SBOM referrer differs from the signed SBOM attestation"},
		{"signature payload", func(t *testing.T, dir string) {
			_, e := find(t, dir, "signature")
			flipByte(t, blobPath(dir, readManifest(t, dir, e.Digest).Layers[0].Digest))
		}, "does not match its digest"},
		{"signature payload re-addressed", func(t *testing.T, dir string) {
			i, _ := find(t, dir, "signature")
			rewrite(t, dir, i, 0, func(b []byte) []byte {
				return bytes.Replace(b, []byte("stella-scan/stella"), []byte("stella-scan/stellb"), 1)
			}, nil)
		}, "no signature verifies"},
		{"signature re-addressed", func(t *testing.T, dir string) {
			i, _ := find(t, dir, "signature")
			rewrite(t, dir, i, 0, nil, func(m *ociManifest) {
				s, _ := base64.StdEncoding.DecodeString(m.Layers[0].Annotations[release.SignatureAnn])
				s[len(s)-1] ^= 1
				m.Layers[0].Annotations[release.SignatureAnn] = base64.StdEncoding.EncodeToString(s)
			})
		}, "no signature verifies"},
		{"attestation re-addressed", func(t *testing.T, dir string) {
			i, _ := find(t, dir, "attestation")
			rewrite(t, dir, i, 0, func(b []byte) []byte {
				var env release.Envelope
				json.Unmarshal(b, &env)
				p, _ := base64.StdEncoding.DecodeString(env.Payload)
				env.Payload = base64.StdEncoding.EncodeToString(bytes.Replace(p, []byte("0123abc"), []byte("0123abd"), 1))
				out, _ := json.Marshal(env)
				return out
			}, nil)
		}, "attestation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, res.Layout)
			c.tamper(t, dir)
			_, err := release.VerifyLayout(dir, "", pub)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%s changed: verify says %v, want %q", c.name, err, c.want)
			}
			t.Logf("refused: %v", err)
		})
	}
	// The command: one byte of the SBOM changed is a failure, exit 1.
	dir := copyDir(t, res.Layout)
	_, e := find(t, dir, "sbom")
	flipByte(t, blobPath(dir, readManifest(t, dir, e.Digest).Layers[0].Digest))
	if out, code := verifyCLI(t, b[0], dir, pubFile); code != 1 || !strings.Contains(out, "FAILED") {
		t.Fatalf("stella verify of a changed SBOM: exit %d\n%s", code, out)
	}

	_, otherPub := keyPair(t)
	ob, _ := os.ReadFile(otherPub)
	opub, _ := image.ParsePublicKey(ob)
	if _, err := release.VerifyLayout(res.Layout, "", opub); err == nil || !strings.Contains(err.Error(), "no signature verifies") {
		t.Fatalf("another key: %v", err)
	}
	unsigned := unsignedRel
	if unsigned == nil {
		unsigned = publish(t, b[0], "")
	}
	if _, err := release.VerifyLayout(unsigned.Layout, "", pub); err == nil || !strings.Contains(err.Error(), "no signature") {
		t.Fatalf("an unsigned image: %v", err)
	}
}
