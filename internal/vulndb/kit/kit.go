// Package kit builds, signs, verifies and imports offline DB kits.
//
// A kit is a gzip-compressed tar with exactly three members, in order:
//
//	manifest.json  format, schema version, DB build time, sources and
//	               their freshness, and the size and SHA-256 of stella.db
//	manifest.sig   Ed25519 signature of the exact manifest.json bytes
//	stella.db      the SQLite vulnerability DB
//
// Keys are Ed25519 (crypto/ed25519: small, deterministic signatures, no
// parameters to get wrong), stored PEM-armoured: "STELLA KIT PRIVATE KEY"
// holds the 32-byte seed (file mode 0600), "STELLA KIT PUBLIC KEY" the
// 32-byte public key. The signature covers the manifest, and the manifest
// pins the DB by digest, so one flipped byte anywhere is refused.
package kit

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/stella-scan/stella/internal/vulndb"
)

// Format is the manifest format this package writes and reads.
const Format = "stella-kit/1"

// Member names, in archive order.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	DBName        = "stella.db"
)

// Limits on what a kit may contain.
const (
	maxManifest = 1 << 20
	maxSig      = 1 << 10
	MaxDB       = 16 << 30 // 16 GiB
)

// Manifest describes a kit.
type Manifest struct {
	Format        string    `json:"format"`
	SchemaVersion int       `json:"schema_version"`
	CreatedAt     time.Time `json:"created_at"`
	BuiltAt       time.Time `json:"db_built_at"` // freshness: when the DB was synced
	KeyID         string    `json:"key_id"`      // first 16 hex of SHA-256 of the public key
	DB            File      `json:"db"`
	Advisories    int       `json:"advisories"`
	Sources       []Source  `json:"sources"`
}

// File pins one member.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Source is one source's freshness at build time.
type Source struct {
	Name         string    `json:"name"`
	LastSync     time.Time `json:"last_sync"`
	LastModified time.Time `json:"last_modified,omitempty"`
	Records      int       `json:"records"`
}

// Key file names written by Keygen.
const (
	PrivateKeyFile = "kit.key"
	PublicKeyFile  = "kit.pub"
)

const (
	pemPrivate = "STELLA KIT PRIVATE KEY"
	pemPublic  = "STELLA KIT PUBLIC KEY"
)

// Keygen writes a new key pair into dir (kit.key 0600, kit.pub 0644) and
// refuses to overwrite an existing key.
func Keygen(dir string) (priv, pub string, err error) {
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	priv, pub = filepath.Join(dir, PrivateKeyFile), filepath.Join(dir, PublicKeyFile)
	f, err := os.OpenFile(priv, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("private key %s: %w (remove it first to make a new key)", priv, err)
	}
	if err := pem.Encode(f, &pem.Block{Type: pemPrivate, Bytes: sk.Seed()}); err != nil {
		f.Close()
		return "", "", err
	}
	if err := f.Close(); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: pk}), 0o644); err != nil {
		return "", "", err
	}
	return priv, pub, nil
}

func readPEM(path, typ string, size int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != typ || len(blk.Bytes) != size {
		return nil, fmt.Errorf("key %s: not a %s (make one with `stella kit keygen`)", path, typ)
	}
	return blk.Bytes, nil
}

// LoadPrivateKey reads a kit.key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	seed, err := readPEM(path, pemPrivate, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// LoadPublicKey reads a kit.pub.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := readPEM(path, pemPublic, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	return ed25519.PublicKey(b), nil
}

func keyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// Build writes a signed kit of the DB at dbPath to out (through a
// temporary file and a rename).
func Build(ctx context.Context, dbPath, keyPath, out string) (*Manifest, error) {
	sk, err := LoadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	db, err := vulndb.Open(dbPath)
	if err != nil {
		return nil, err
	}
	st, err := db.Status(ctx)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dbPath, err)
	}
	f, err := os.Open(dbPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	size, err := io.Copy(h, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dbPath, err)
	}
	m := &Manifest{
		Format: Format, SchemaVersion: st.SchemaVersion, CreatedAt: time.Now().UTC(), BuiltAt: st.BuiltAt,
		KeyID: keyID(sk.Public().(ed25519.PublicKey)), Advisories: st.Advisories,
		DB: File{Name: DBName, Size: size, SHA256: hex.EncodeToString(h.Sum(nil))},
	}
	for _, s := range st.Sources {
		m.Sources = append(m.Sources, Source{Name: s.Source, LastSync: s.LastSync, LastModified: s.LastModified, Records: s.Records})
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(sk, mb)

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	gz := gzip.NewWriter(tmp)
	tw := tar.NewWriter(gz)
	add := func(name string, size int64, r io.Reader) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, ModTime: m.CreatedAt, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	for _, step := range []error{
		add(ManifestName, int64(len(mb)), bytesReader(mb)),
		add(SignatureName, int64(len(sig)), bytesReader(sig)),
		add(DBName, size, io.LimitReader(f, size)),
		tw.Close(), gz.Close(), tmp.Sync(), tmp.Close(),
	} {
		if step != nil {
			tmp.Close()
			return nil, fmt.Errorf("write kit %s: %w", out, step)
		}
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, err
	}
	return m, nil
}

// Verify checks a kit against a public key without installing it.
func Verify(ctx context.Context, kitPath, pubPath string) (*Manifest, error) {
	dir, err := os.MkdirTemp("", "stella-kit-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m, _, err := unpack(ctx, kitPath, pubPath, dir)
	return m, err
}

// ErrOlder is returned by Import for a kit older than the installed DB.
var ErrOlder = errors.New("kit is older than the installed DB")

// Import verifies a kit (signature, digests, schema, that the DB opens)
// and swaps its DB in at dbPath atomically. A kit whose DB was built
// before the installed one is refused unless allowOlder.
func Import(ctx context.Context, kitPath, pubPath, dbPath string, allowOlder bool) (*Manifest, error) {
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o755); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(dbPath), ".stella-kit-import-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	m, tmpDB, err := unpack(ctx, kitPath, pubPath, dir)
	if err != nil {
		return nil, err
	}
	if m.SchemaVersion != vulndb.SchemaVersion {
		return nil, fmt.Errorf("kit %s: DB schema %d, this stella reads %d: use a kit made by a matching stella", kitPath, m.SchemaVersion, vulndb.SchemaVersion)
	}
	db, err := vulndb.Open(tmpDB)
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", kitPath, err)
	}
	st, err := db.Status(ctx)
	db.Close()
	if err != nil {
		return nil, fmt.Errorf("kit %s: %w", kitPath, err)
	}
	if !st.BuiltAt.Equal(m.BuiltAt) {
		return nil, fmt.Errorf("kit %s: manifest says the DB was built %v, the DB says %v", kitPath, m.BuiltAt, st.BuiltAt)
	}
	if cur, err := vulndb.Open(dbPath); err == nil {
		cst, err := cur.Status(ctx)
		cur.Close()
		if err == nil && m.BuiltAt.Before(cst.BuiltAt) && !allowOlder {
			return nil, fmt.Errorf("kit %s (DB built %s) vs installed %s (built %s): %w; pass --allow-older to install it anyway",
				kitPath, m.BuiltAt.Format(time.RFC3339), dbPath, cst.BuiltAt.Format(time.RFC3339), ErrOlder)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.Chmod(tmpDB, 0o644); err != nil {
		return nil, err
	}
	if err := os.Rename(tmpDB, dbPath); err != nil {
		return nil, fmt.Errorf("install %s: %w", dbPath, err)
	}
	if d, err := os.Open(filepath.Dir(dbPath)); err == nil {
		d.Sync()
		d.Close()
	}
	return m, nil
}

// unpack reads the kit stream once: manifest, signature (checked before
// the DB is even read), then the DB into dir while hashing it.
func unpack(ctx context.Context, kitPath, pubPath, dir string) (*Manifest, string, error) {
	pub, err := LoadPublicKey(pubPath)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(kitPath)
	if err != nil {
		return nil, "", fmt.Errorf("kit %s: %w", kitPath, err)
	}
	defer f.Close()
	fail := func(format string, a ...any) (*Manifest, string, error) {
		return nil, "", fmt.Errorf("kit %s refused: %s", kitPath, fmt.Sprintf(format, a...))
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fail("not a gzip stream (%v)", err)
	}
	tr := tar.NewReader(gz)
	next := func(want string, max int64) (*tar.Header, error) {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("member %s missing (truncated or unsigned kit)", want)
		}
		if err != nil {
			return nil, fmt.Errorf("reading member %s: %v (truncated or damaged kit)", want, err)
		}
		if h.Name != want || h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("member %q where %s was expected (unsigned or foreign kit)", h.Name, want)
		}
		if h.Size < 0 || h.Size > max {
			return nil, fmt.Errorf("member %s of %d bytes exceeds %d", want, h.Size, max)
		}
		return h, nil
	}
	readAll := func(want string, max int64) ([]byte, error) {
		if _, err := next(want, max); err != nil {
			return nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("reading member %s: %v (truncated or damaged kit)", want, err)
		}
		return b, nil
	}
	mb, err := readAll(ManifestName, maxManifest)
	if err != nil {
		return fail("%v", err)
	}
	sig, err := readAll(SignatureName, maxSig)
	if err != nil {
		return fail("%v", err)
	}
	if !ed25519.Verify(pub, mb, sig) {
		return fail("bad signature: the manifest was altered or signed by another key than %s", pubPath)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return fail("manifest: %v", err)
	}
	if m.Format != Format {
		return fail("format %q, want %q", m.Format, Format)
	}
	if m.DB.Name != DBName || m.DB.Size < 0 || m.DB.Size > MaxDB {
		return fail("manifest names DB %q of %d bytes", m.DB.Name, m.DB.Size)
	}
	h, err := next(DBName, MaxDB)
	if err != nil {
		return fail("%v", err)
	}
	if h.Size != m.DB.Size {
		return fail("DB member is %d bytes, manifest says %d", h.Size, m.DB.Size)
	}
	tmpDB := filepath.Join(dir, DBName)
	out, err := os.OpenFile(tmpDB, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, sum), ctxReader{ctx, tr})
	if cerr := out.Sync(); err == nil {
		err = cerr
	}
	out.Close()
	if err != nil {
		return fail("reading %s after %d bytes: %v (truncated or damaged kit)", DBName, n, err)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != m.DB.SHA256 {
		return fail("%s digest %s does not match the signed manifest (%s): the kit was tampered with or damaged", DBName, got, m.DB.SHA256)
	}
	if _, err := tr.Next(); err != io.EOF {
		return fail("unexpected data after %s", DBName)
	}
	// Drain to the gzip trailer so that its CRC and length are checked.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return fail("gzip trailer: %v (truncated or damaged kit)", err)
	}
	return &m, tmpDB, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

type byteReader struct {
	b []byte
}

func (r *byteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &byteReader{b} }
