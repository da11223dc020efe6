package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/queue/memory"
	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/testutil"
	"github.com/stella-scan/stella/internal/worker"
)

func TestMain(m *testing.M) { matchtest.Main(m) }

const (
	issuer   = "https://idp.test"
	audience = "stella-api"
)

// keys are the test identity provider's: an HS256 secret and an RSA and
// an EC key published in a JWKS file.
type keys struct {
	secret   []byte
	rsa      *rsa.PrivateKey
	ec       *ecdsa.PrivateKey
	jwksFile string
	jwks     []byte
}

var (
	keysOnce sync.Once
	theKeys  keys
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func testKeys(t *testing.T) *keys {
	keysOnce.Do(func() {
		k := &theKeys
		k.secret = []byte("0123456789abcdef0123456789abcdef-test-secret")
		var err error
		if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
		ecPub, _ := k.ec.PublicKey.ECDH()
		raw := ecPub.Bytes() // 0x04 || X || Y
		doc := map[string]any{"keys": []map[string]string{
			{"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256", "n": b64(k.rsa.N.Bytes()), "e": b64(big.NewInt(int64(k.rsa.E)).Bytes())},
			{"kty": "EC", "kid": "ec1", "use": "sig", "alg": "ES256", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])},
		}}
		k.jwks, _ = json.Marshal(doc)
		dir, _ := os.MkdirTemp("", "stella-jwks-")
		k.jwksFile = filepath.Join(dir, "jwks.json")
		if err := os.WriteFile(k.jwksFile, k.jwks, 0o600); err != nil {
			panic(err)
		}
	})
	return &theKeys
}

// claims returns valid claims for sub in tenant with role.
func claims(sub, tenant, role string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": sub, "tenant": tenant, "role": role, "iss": issuer, "aud": audience,
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
}

func (k *keys) hs(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (k *keys) rs(t *testing.T, c jwt.MapClaims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (k *keys) es(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = "ec1"
	s, err := tok.SignedString(k.ec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fixtures is a registry on loopback holding the fixture images.
type fixtures struct {
	host    string
	refs    map[string]string // image -> host/fixtures/image:v1
	digests map[string]string
}

var (
	fixOnce sync.Once
	fix     fixtures
	fixErr  error
)

func registryFixtures(t *testing.T) *fixtures {
	t.Helper()
	images := filepath.Join(analyzetest.SharedDir(t), "testdata", "images")
	fixOnce.Do(func() {
		reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fixErr = err
			return
		}
		srv := &http.Server{Handler: reg}
		go srv.Serve(l) // lives as long as the test binary
		fix = fixtures{host: l.Addr().String(), refs: map[string]string{}, digests: map[string]string{}}
		for _, img := range []string{"debian-app", "alpine-3.14-apk"} {
			ref := fix.host + "/fixtures/" + img + ":v1"
			d, err := testutil.PushLayout(filepath.Join(images, img, "oci"), ref)
			if err != nil {
				fixErr = err
				return
			}
			fix.refs[img], fix.digests[img] = ref, d
		}
	})
	if fixErr != nil {
		t.Fatal(fixErr)
	}
	return &fix
}

var (
	policyOnce sync.Once
	policyEng  *policy.Engine
	policyErr  error
)

// policyEngine is the default policy bundle, compiled once.
func policyEngine(t *testing.T) *policy.Engine {
	policyOnce.Do(func() { policyEng, policyErr = policy.Load(context.Background(), policy.Options{}) })
	if policyErr != nil {
		t.Fatal(policyErr)
	}
	return policyEng
}

// Modes: the gateway's workers call the core in this process, or a core
// served over gRPC on loopback.
var modes = []string{"in-process", "grpc"}

// gateway is one `stella serve` handler stack on loopback.
type gateway struct {
	t     *testing.T
	URL   string
	srv   *server.Server
	store store.Store
	queue queue.Queue
	keys  *keys
}

type gwOptions struct {
	mode    string // "" = no workers
	quota   server.QuotaConfig
	store   store.Store
	maxBody int64
	jwksURL string
	// admission is mounted at /api/admission when set.
	admission http.Handler
	admin     server.Admin
	ui        fs.FS
}

func newGateway(t *testing.T, o gwOptions) *gateway {
	t.Helper()
	k := testKeys(t)
	st := o.store
	if st == nil {
		s, err := sqlite.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	q := memory.New(time.Minute)
	t.Cleanup(func() { q.Close() })
	var jwks server.KeySource
	if o.jwksURL != "" {
		j, err := server.NewJWKSURL(context.Background(), o.jwksURL, nil)
		if err != nil {
			t.Fatal(err)
		}
		jwks = j
	} else {
		ks, err := server.LoadJWKS(k.jwksFile)
		if err != nil {
			t.Fatal(err)
		}
		jwks = ks
	}
	var scanner core.Scanner
	ctx, cancel := context.WithCancel(context.Background())
	if o.mode != "" {
		local := &core.Local{DB: matchtest.Open(t), Policy: policyEngine(t), Version: "test"}
		scanner = local
		if o.mode == "grpc" {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- core.Serve(ctx, l, local, "test") }()
			c, err := core.Dial(l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close(); cancel(); <-done })
			scanner = c
		}
	}
	srv, err := server.New(server.Config{
		Store: st, Queue: q, Core: scanner, Version: "test", MaxBody: o.maxBody,
		Admission: o.admission, Admin: o.admin, UI: o.ui,
		Auth:   server.AuthConfig{HS256Secret: k.secret, JWKS: jwks, Issuer: issuer, Audience: audience},
		Quota:  o.quota,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	var wg sync.WaitGroup
	if o.mode != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := worker.Run(ctx, srv.WorkerStore(), q, "gw-worker", core.StoredScan(scanner)); err != nil {
				t.Errorf("worker: %v", err)
			}
		}()
	}
	t.Cleanup(func() { cancel(); wg.Wait(); hs.Close() })
	return &gateway{t: t, URL: hs.URL, srv: srv, store: st, queue: q, keys: k}
}

// token is an HS256 JWT for sub in tenant with role.
func (g *gateway) token(sub, tenant, role string) string {
	return g.keys.hs(g.t, claims(sub, tenant, role))
}

// do sends a request with a bearer token (none when tok is "") and returns
// the status, headers and body.
func (g *gateway) do(method, path, tok string, body any) (int, http.Header, []byte) {
	g.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			g.t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, g.URL+path, r)
	if err != nil {
		g.t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// getJSON GETs path, wants code and decodes the body into v.
func (g *gateway) getJSON(path, tok string, code int, v any) {
	g.t.Helper()
	got, _, body := g.do("GET", path, tok, nil)
	if got != code {
		g.t.Fatalf("GET %s: %d, want %d: %s", path, got, code, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			g.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
}

// postScan queues a scan and returns its id.
func (g *gateway) postScan(tok string, body any) string {
	g.t.Helper()
	code, h, b := g.do("POST", "/api/scan", tok, body)
	if code != http.StatusAccepted {
		g.t.Fatalf("POST /api/scan: %d: %s", code, b)
	}
	var acc server.ScanAccepted
	if err := json.Unmarshal(b, &acc); err != nil {
		g.t.Fatal(err)
	}
	if h.Get("Location") != "/api/scans/"+acc.ID || acc.State != store.StateQueued {
		g.t.Fatalf("202 answer %s, Location %q", b, h.Get("Location"))
	}
	return acc.ID
}

// wait polls the scan until it is done or failed.
func (g *gateway) wait(tok, id string) *store.Scan {
	g.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var sc store.Scan
		g.getJSON("/api/scans/"+id, tok, 200, &sc)
		if sc.State == store.StateDone || sc.State == store.StateFailed {
			return &sc
		}
		time.Sleep(100 * time.Millisecond)
	}
	g.t.Fatalf("scan %s not finished after 2 minutes", id)
	return nil
}
