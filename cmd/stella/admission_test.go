package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/release"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/testutil"
	"github.com/stella-scan/stella/internal/vulndb"

	"os"
)

// --require-signature-key: an image signed (cosign's format, on a real
// registry) with the key is scanned by its signed digest and decided on
// its findings; an unsigned one, or one signed with another key, is
// denied by the built-in rule without being scanned.
func TestAdmissionRequiresSignature(t *testing.T) {
	shared := analyzetest.SharedDir(t)
	dbPath := filepath.Join(t.TempDir(), "stella.db")
	if out, code := run(t, "db", "sync", "--mirror", filepath.Join(shared, "testdata", "feeds"), "--db", dbPath); code != 0 {
		t.Fatalf("db sync: %s", out)
	}
	db, err := vulndb.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	host := testutil.Registry(t)
	layoutDir := filepath.Join(shared, "testdata", "images", "alpine-3.14-apk", "oci")
	signed, unsigned, otherKey := host+"/apps/signed:v1", host+"/apps/unsigned:v1", host+"/apps/other:v1"
	for _, ref := range []string{signed, unsigned, otherKey} {
		if _, err := testutil.PushLayout(layoutDir, ref); err != nil {
			t.Fatal(err)
		}
	}
	keys := t.TempDir()
	release.GenerateKey(filepath.Join(keys, "k"), filepath.Join(keys, "k.pub"))
	release.GenerateKey(filepath.Join(keys, "o"), filepath.Join(keys, "o.pub"))
	k, _ := release.LoadPrivateKey(filepath.Join(keys, "k"))
	o, _ := release.LoadPrivateKey(filepath.Join(keys, "o"))
	signedDigest, err := release.SignRemote(signed, k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.SignRemote(otherKey, o); err != nil {
		t.Fatal(err)
	}
	pb, _ := os.ReadFile(filepath.Join(keys, "k.pub"))
	pub, err := image.ParsePublicKey(pb)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := policy.Load(context.Background(), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	decide := scanDecider(scan.ScanOptions{DB: db, StellaVersion: "test"}, ev, pub)

	d, err := decide(t.Context(), signed)
	if err != nil {
		t.Fatal(err)
	}
	if d.Digest != signedDigest || d.Policy.Verdict == "fail" {
		t.Fatalf("signed image: digest %s (signed %s), verdict %s %+v", d.Digest, signedDigest, d.Policy.Verdict, d.Policy.Deny)
	}
	for _, ref := range []string{unsigned, otherKey} {
		d, err := decide(t.Context(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if d.Policy.Verdict != "fail" || len(d.Policy.Deny) != 1 || !strings.Contains(d.Policy.Deny[0].Msg, "not signed with the required key") || d.Digest != "" {
			t.Fatalf("%s: digest %q verdict %s deny %+v", ref, d.Digest, d.Policy.Verdict, d.Policy.Deny)
		}
	}
	// A registry that cannot be reached leaves the image undecided (an
	// error: the webhook's --fail-open or its default, deny, applies).
	if d, err := decide(t.Context(), "127.0.0.1:1/apps/gone:v1"); err == nil {
		t.Fatalf("unreachable registry decided: %+v", d)
	}
}
