package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `stella verify` of a release layout built by `stella release build`:
// exit 0 and what was verified; exit 1 naming the failure once one byte
// of the signature payload changes or with another key; exit 3 for a
// missing layout or key; exit 2 for a usage error.
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if out, code := run(t, "release", "keygen", priv, pub); code != 0 {
		t.Fatalf("keygen: %s", out)
	}
	if out, code := run(t, "release", "keygen", priv, pub); code != exitUsage || !strings.Contains(out, "not overwriting") {
		t.Fatalf("keygen over an existing key: exit %d %s", code, out)
	}
	if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	bin := filepath.Join(dir, "stella")
	if err := os.WriteFile(bin, []byte("#!not really a binary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dist")
	res, code := run(t, "release", "build", "--binary", bin, "--out", out, "--arch", "arm64", "--key", priv,
		"--source-date-epoch", "1700000000", "--version", "v1.2.3", "--commit", "abc")
	lines := strings.Split(strings.TrimSpace(res), "\n")
	digest := lines[len(lines)-1]
	if code != 0 || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("release build: exit %d\n%s", code, res)
	}
	if out, code := run(t, "release", "build", "--binary", bin, "--out", out, "--source-date-epoch", "1"); code == 0 || !strings.Contains(out, "not a Linux executable") {
		t.Fatalf("a non-ELF binary without --arch: exit %d %s", code, out)
	}
	layout := filepath.Join(out, "stella-image")

	got, code := run(t, "verify", "oci:"+layout, "--key", pub)
	if code != 0 || !strings.Contains(got, "OK "+digest) || strings.Count(got, "verified:") != 7 {
		t.Fatalf("verify: exit %d\n%s", code, got)
	}
	// The bare directory and oci:DIR:TAG name the same image.
	if got, code := run(t, "verify", "oci:"+layout+":v1.2.3", "--key", pub, "-f", "json"); code != 0 || !strings.Contains(got, `"digest":"`+digest+`"`) {
		t.Fatalf("verify oci:DIR:TAG: exit %d\n%s", code, got)
	}

	_, other := filepath.Join(dir, "o.key"), filepath.Join(dir, "o.pub")
	run(t, "release", "keygen", filepath.Join(dir, "o.key"), other)
	if got, code := run(t, "verify", "oci:"+layout, "--key", other); code != exitFail || !strings.Contains(got, "no signature verifies with key") {
		t.Fatalf("another key: exit %d\n%s", code, got)
	}

	// One byte of the signature payload.
	sig := strings.Replace(digest, ":", "-", 1) + ".sig"
	idx, _ := os.ReadFile(filepath.Join(layout, "index.json"))
	if !strings.Contains(string(idx), sig) {
		t.Fatalf("no %s in index.json: %s", sig, idx)
	}
	blobs, _ := filepath.Glob(filepath.Join(layout, "blobs", "sha256", "*"))
	flipped := false
	for _, b := range blobs {
		data, _ := os.ReadFile(b)
		if strings.Contains(string(data), `"docker-manifest-digest":"`+digest+`"`) {
			data[len(data)/2] ^= 1
			if err := os.WriteFile(b, data, 0o644); err != nil {
				t.Fatal(err)
			}
			flipped = true
		}
	}
	if !flipped {
		t.Fatal("no simple-signing payload among the blobs")
	}
	if got, code := run(t, "verify", "oci:"+layout, "--key", pub); code != exitFail || !strings.Contains(got, "signature payload") || !strings.Contains(got, "does not match its digest") {
		t.Fatalf("changed signature: exit %d\n%s", code, got)
	}

	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"verify", "oci:" + filepath.Join(dir, "nowhere"), "--key", pub}, exitInput},
		{[]string{"verify", "oci:" + layout, "--key", filepath.Join(dir, "missing.pub")}, exitInput},
		{[]string{"verify", "oci:" + layout, "--key", priv}, exitInput}, // a private key is not a public key
		{[]string{"verify", "oci:" + layout}, exitUsage},
		{[]string{"verify", "dir:" + dir, "--key", pub}, exitUsage},
		{[]string{"verify", "oci:" + layout, "--key", pub, "-f", "xml"}, exitUsage},
	} {
		if got, code := run(t, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, c.code, got)
		}
	}
}
