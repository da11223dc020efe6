package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"sync"
	"time"
)

// KeySource gives the public key that verifies a JWT with key id kid and
// algorithm alg (RS256, ES256).
type KeySource interface {
	Key(ctx context.Context, kid, alg string) (any, error)
}

// jwk is one JSON Web Key (RFC 7517); only public RSA and EC P-256 keys.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

type jwkEntry struct {
	kid string
	alg string // the key's declared alg, or "" for any of its family
	key any    // *rsa.PublicKey or *ecdsa.PublicKey
}

// KeySet is a parsed JWKS.
type KeySet struct{ keys []jwkEntry }

const maxJWKSSize = 1 << 20

// ParseJWKS reads a JWKS document. Private key material, unknown key types
// and curves other than P-256 are refused or skipped, never used.
func ParseJWKS(b []byte) (*KeySet, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	ks := &KeySet{}
	for i, k := range doc.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		e := jwkEntry{kid: k.Kid, alg: k.Alg}
		switch k.Kty {
		case "RSA":
			n, err1 := b64int(k.N)
			ex, err2 := b64int(k.E)
			if err := errors.Join(err1, err2); err != nil || !ex.IsInt64() {
				return nil, fmt.Errorf("JWKS key %d (%q): bad RSA n or e: %v", i, k.Kid, err)
			}
			if n.BitLen() < 2048 {
				return nil, fmt.Errorf("JWKS key %d (%q): RSA key of %d bits; want at least 2048", i, k.Kid, n.BitLen())
			}
			e.key = &rsa.PublicKey{N: n, E: int(ex.Int64())}
		case "EC":
			if k.Crv != "P-256" {
				slog.Warn("JWKS: skipping EC key on an unsupported curve", "kid", k.Kid, "crv", k.Crv)
				continue
			}
			x, err1 := b64int(k.X)
			y, err2 := b64int(k.Y)
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("JWKS key %d (%q): bad EC x or y: %v", i, k.Kid, err)
			}
			pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}
			if !pub.Curve.IsOnCurve(x, y) { //nolint:staticcheck // validation of untrusted coordinates
				return nil, fmt.Errorf("JWKS key %d (%q): point not on P-256", i, k.Kid)
			}
			e.key = pub
		default:
			slog.Warn("JWKS: skipping key of unsupported type", "kid", k.Kid, "kty", k.Kty)
			continue
		}
		ks.keys = append(ks.keys, e)
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("JWKS: no usable RSA or EC P-256 signing key")
	}
	return ks, nil
}

func b64int(s string) (*big.Int, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("not base64url: %q", s)
	}
	return new(big.Int).SetBytes(b), nil
}

// LoadJWKS reads a JWKS file.
func LoadJWKS(path string) (*KeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("JWKS file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJWKSSize))
	if err != nil {
		return nil, fmt.Errorf("JWKS file %s: %w", path, err)
	}
	ks, err := ParseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ks, nil
}

// Key finds the key for kid whose type fits alg.
func (ks *KeySet) Key(_ context.Context, kid, alg string) (any, error) {
	for _, e := range ks.keys {
		if kid != "" && e.kid != kid {
			continue
		}
		if e.alg != "" && e.alg != alg {
			continue
		}
		switch e.key.(type) {
		case *rsa.PublicKey:
			if alg == "RS256" {
				return e.key, nil
			}
		case *ecdsa.PublicKey:
			if alg == "ES256" {
				return e.key, nil
			}
		}
	}
	return nil, fmt.Errorf("no %s key with kid %q in the JWKS", alg, kid)
}

// JWKSURL is a KeySource fetched from a URL, refreshed when a token names
// an unknown key (at most once per MinRefresh) and every MaxAge.
type JWKSURL struct {
	URL        string
	Client     *http.Client
	MinRefresh time.Duration
	MaxAge     time.Duration

	mu      sync.Mutex
	set     *KeySet
	fetched time.Time
}

// NewJWKSURL fetches url once, so a wrong URL fails at start.
func NewJWKSURL(ctx context.Context, url string, client *http.Client) (*JWKSURL, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	j := &JWKSURL{URL: url, Client: client, MinRefresh: 30 * time.Second, MaxAge: time.Hour}
	if err := j.refresh(ctx); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *JWKSURL) refresh(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.URL, nil)
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", j.URL, err)
	}
	resp, err := j.Client.Do(req)
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", j.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("JWKS %s: HTTP %s", j.URL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize))
	if err != nil {
		return fmt.Errorf("JWKS %s: %w", j.URL, err)
	}
	ks, err := ParseJWKS(b)
	if err != nil {
		return fmt.Errorf("%s: %w", j.URL, err)
	}
	j.set, j.fetched = ks, time.Now()
	return nil
}

// Key looks kid up, refetching the JWKS when it is unknown or stale.
func (j *JWKSURL) Key(ctx context.Context, kid, alg string) (any, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if time.Since(j.fetched) > j.MaxAge {
		if err := j.refresh(ctx); err != nil {
			slog.Warn("JWKS refresh failed; keeping the keys we have", "err", err)
		}
	}
	k, err := j.set.Key(ctx, kid, alg)
	if err != nil && time.Since(j.fetched) > j.MinRefresh {
		if rerr := j.refresh(ctx); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return j.set.Key(ctx, kid, alg)
	}
	return k, err
}
