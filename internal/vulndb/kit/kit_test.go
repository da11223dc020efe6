package kit

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/nvd"
	"github.com/stella-scan/stella/internal/testutil"
	"github.com/stella-scan/stella/internal/vulndb"
)

// buildDB syncs the real NVD records of the shared feeds into path.
func buildDB(t *testing.T, path string) { buildDBTB(t, path) }

func buildDBTB(t testing.TB, path string) {
	t.Helper()
	feeds := testutil.FeedsDir(t)
	m := t.TempDir()
	os.MkdirAll(filepath.Join(m, "nvd"), 0o755)
	b, _ := os.ReadFile(filepath.Join(feeds, "nvd", "api-pages", "cves-2.0-page-1-startIndex-0.json"))
	os.WriteFile(filepath.Join(m, "nvd", "page.json"), b, 0o644)
	if _, err := vulndb.Sync(context.Background(), vulndb.SyncOptions{Path: path, Connectors: []feed.Connector{&nvd.Connector{}}, Source: feed.Source{Mirror: m}}); err != nil {
		t.Fatal(err)
	}
}

func TestKitRoundTripAndRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	priv, pub, err := Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(priv); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode())
	}
	if _, _, err := Keygen(filepath.Join(dir, "keys")); err == nil {
		t.Fatal("keygen overwrote a key")
	}
	src := filepath.Join(dir, "src.db")
	buildDB(t, src)
	kitPath := filepath.Join(dir, "stella.kit")
	m, err := Build(ctx, src, priv, kitPath)
	if err != nil {
		t.Fatal(err)
	}
	if m.SchemaVersion != vulndb.SchemaVersion || len(m.Sources) != 1 || m.Sources[0].Name != "nvd" || m.Sources[0].Records != 6 || m.BuiltAt.IsZero() {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := Verify(ctx, kitPath, pub); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(kitPath)

	refuse := func(name string, data []byte, want string) {
		t.Helper()
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, err := Verify(ctx, p, pub); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
	// One flipped byte, anywhere: header, manifest area, DB data, trailer.
	for _, off := range []int{0, 40, len(good) / 3, len(good) / 2, len(good) - 3} {
		bad := append([]byte(nil), good...)
		bad[off] ^= 0x01
		refuse("flipped.kit", bad, "refused")
	}
	refuse("truncated.kit", good[:len(good)/2], "truncated")
	refuse("empty.kit", nil, "not a gzip")

	// Unsigned: the same members without manifest.sig.
	refuse("unsigned.kit", rewrite(t, good, func(name string, b []byte) ([]byte, bool) { return b, name != SignatureName }), "unsigned")
	// Re-signed by someone else's key: a valid kit, wrong signer.
	_, otherPub, _ := Keygen(filepath.Join(dir, "other"))
	if _, err := Verify(ctx, kitPath, otherPub); err == nil || !strings.Contains(err.Error(), "bad signature") {
		t.Errorf("other key: %v", err)
	}
	// DB swapped for another, manifest kept: digest mismatch.
	refuse("swapped.kit", rewrite(t, good, func(name string, b []byte) ([]byte, bool) {
		if name == DBName {
			c := append([]byte(nil), b...)
			c[len(c)/2] ^= 0xff
			return c, true
		}
		return b, true
	}), "does not match the signed manifest")

	// Import: installs atomically; the installed DB reads.
	target := filepath.Join(dir, "installed", "stella.db")
	if _, err := Import(ctx, kitPath, pub, target, false); err != nil {
		t.Fatal(err)
	}
	db, err := vulndb.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := db.Advisory(ctx, "CVE-2019-14697"); err != nil || a.ID != "CVE-2019-14697" {
		t.Fatalf("%v %v", a, err)
	}
	db.Close()
	// A tampered kit does not touch the installed DB.
	before, _ := os.ReadFile(target)
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0x01
	os.WriteFile(filepath.Join(dir, "bad.kit"), bad, 0o644)
	if _, err := Import(ctx, filepath.Join(dir, "bad.kit"), pub, target, false); err == nil {
		t.Fatal("tampered kit imported")
	}
	if after, _ := os.ReadFile(target); string(after) != string(before) {
		t.Fatal("installed DB changed")
	}
	// An older kit: a newer DB is installed first.
	time.Sleep(10 * time.Millisecond)
	newer := filepath.Join(dir, "newer.db")
	buildDB(t, newer)
	newKit := filepath.Join(dir, "newer.kit")
	if _, err := Build(ctx, newer, priv, newKit); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, newKit, pub, target, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Import(ctx, kitPath, pub, target, false); !errors.Is(err, ErrOlder) || !strings.Contains(err.Error(), "--allow-older") {
		t.Fatalf("older kit: %v", err)
	}
	if _, err := Import(ctx, kitPath, pub, target, true); err != nil {
		t.Fatalf("--allow-older: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(target))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".stella-kit-import-") {
			t.Errorf("temp left: %s", e.Name())
		}
	}
}

// rewrite re-packs a kit's members through fn (keep=false drops one).
func rewrite(t *testing.T, kit []byte, fn func(name string, b []byte) ([]byte, bool)) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.kit")
	os.WriteFile(p, kit, 0o644)
	f, _ := os.Open(p)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	outPath := filepath.Join(t.TempDir(), "out.kit")
	o, _ := os.Create(outPath)
	gw := gzip.NewWriter(o)
	tw := tar.NewWriter(gw)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		b, keep := fn(h.Name, b)
		if !keep {
			continue
		}
		h.Size = int64(len(b))
		tw.WriteHeader(h)
		tw.Write(b)
	}
	tw.Close()
	gw.Close()
	o.Close()
	b, _ := os.ReadFile(outPath)
	return b
}

// FuzzVerify: any bytes as a kit are refused or verified, never a panic
// or a leftover file.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	priv, pub, err := Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		f.Fatal(err)
	}
	db := filepath.Join(dir, "src.db")
	buildDBTB(f, db)
	kitPath := filepath.Join(dir, "seed.kit")
	if _, err := Build(context.Background(), db, priv, kitPath); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(kitPath)
	f.Add(good[:min(len(good), 4096)])
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "k.kit")
		os.WriteFile(p, b, 0o644)
		if m, err := Verify(context.Background(), p, pub); err == nil && string(b) != string(good) {
			t.Fatalf("altered kit verified: %+v", m)
		}
	})
}
