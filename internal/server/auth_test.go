package server_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store"
)

// TestJWT: each refusal case answers 401; valid HS256, RS256 (JWKS file
// and URL) and ES256 tokens are accepted.
func TestJWT(t *testing.T) {
	k := testKeys(t)
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(k.jwks) }))
	defer jwksSrv.Close()
	for _, src := range []string{"file", "url"} {
		t.Run(src, func(t *testing.T) {
			o := gwOptions{}
			if src == "url" {
				o.jwksURL = jwksSrv.URL
			}
			g := newGateway(t, o)
			ok := func(c jwt.MapClaims) jwt.MapClaims { return c }
			with := func(key string, v any) jwt.MapClaims {
				c := claims("alice", "acme", "viewer")
				if v == nil {
					delete(c, key)
				} else {
					c[key] = v
				}
				return c
			}
			now := time.Now()
			pubDER, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
			pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
			confused, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("alice", "acme", "admin")).SignedString(pubPEM)
			confusedKid := func() string {
				tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("alice", "acme", "admin"))
				tok.Header["kid"] = "rsa1"
				s, _ := tok.SignedString(pubDER)
				return s
			}()
			none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims("alice", "acme", "admin")).SignedString(jwt.UnsafeAllowNoneSignatureType)
			valid := k.hs(t, claims("alice", "acme", "viewer"))
			parts := strings.Split(valid, ".")
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"alice","tenant":"globex","role":"admin","iss":"`+issuer+`","aud":"`+audience+`","exp":9999999999}`)) + "." + parts[2]
			hs384, _ := jwt.NewWithClaims(jwt.SigningMethodHS384, claims("alice", "acme", "viewer")).SignedString(k.secret)

			cases := []struct {
				name, tok string
				code      int
			}{
				{"hs256", valid, 200},
				{"rs256", k.rs(t, ok(claims("bob", "acme", "viewer")), "rsa1"), 200},
				{"es256", k.es(t, claims("carol", "acme", "viewer")), 200},
				{"no token", "", 401},
				{"garbage", "not.a.jwt", 401},
				{"expired", k.hs(t, with("exp", now.Add(-time.Hour).Unix())), 401},
				{"no exp", k.hs(t, with("exp", nil)), 401},
				{"not yet valid", k.hs(t, with("nbf", now.Add(time.Hour).Unix())), 401},
				{"wrong audience", k.hs(t, with("aud", "other-api")), 401},
				{"wrong issuer", k.hs(t, with("iss", "https://evil.test")), 401},
				{"alg none", none, 401},
				{"alg confusion (HS256 keyed with the RSA public key PEM)", confused, 401},
				{"alg confusion (HS256 keyed with the RSA public key DER, kid of the RSA key)", confusedKid, 401},
				{"hs384 not allowed", hs384, 401},
				{"forged payload", forged, 401},
				{"unknown kid", k.rs(t, claims("bob", "acme", "viewer"), "nope"), 401},
				{"no tenant", k.hs(t, with("tenant", nil)), 401},
				{"bad role", k.hs(t, with("role", "root")), 401},
				{"no sub", k.hs(t, with("sub", nil)), 401},
			}
			for _, c := range cases {
				code, h, body := g.do("GET", "/api/scans", c.tok, nil)
				if code != c.code {
					t.Errorf("%s: %d, want %d: %s", c.name, code, c.code, body)
				}
				if code == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s: no WWW-Authenticate", c.name)
				}
			}
		})
	}
}

// TestRoles: a viewer reads but may not scan; a scanner may not mint an
// admin token.
func TestRoles(t *testing.T) {
	fx := registryFixtures(t)
	g := newGateway(t, gwOptions{})
	viewer := g.token("v", "acme", server.RoleViewer)
	if code, _, _ := g.do("POST", "/api/scan", viewer, map[string]string{"image": fx.refs["debian-app"]}); code != http.StatusForbidden {
		t.Errorf("viewer POST /api/scan: %d, want 403", code)
	}
	if code, _, _ := g.do("GET", "/api/scans", viewer, nil); code != 200 {
		t.Errorf("viewer GET /api/scans: %d", code)
	}
	scanner := g.token("s", "acme", server.RoleScanner)
	if code, _, _ := g.do("POST", "/api/tokens", scanner, map[string]string{"name": "x", "role": "admin"}); code != http.StatusForbidden {
		t.Errorf("scanner minting an admin token: %d, want 403", code)
	}
}

// TestTenantIsolation: another tenant's scan, SBOM, findings and image
// answer 404 (or nothing), never 403.
func TestTenantIsolation(t *testing.T) {
	fx := registryFixtures(t)
	g := newGateway(t, gwOptions{mode: "in-process"})
	acme := g.token("alice", "acme", server.RoleScanner)
	globex := g.token("eve", "globex", server.RoleAdmin)
	id := g.postScan(acme, map[string]string{"image": fx.refs["alpine-3.14-apk"]})
	sc := g.wait(acme, id)
	if sc.State != store.StateDone {
		t.Fatalf("scan: %s %s", sc.State, sc.Error)
	}
	for _, p := range []string{"/api/scans/" + id, "/api/scans/" + id + "/sbom", "/api/scans/" + id + "/sbom?format=spdx-json", "/api/images/" + sc.Digest, "/api/scans/does-not-exist"} {
		if code, _, body := g.do("GET", p, globex, nil); code != http.StatusNotFound {
			t.Errorf("globex GET %s: %d, want 404: %.200s", p, code, body)
		}
	}
	var sl server.ScanList
	g.getJSON("/api/scans", globex, 200, &sl)
	if len(sl.Scans) != 0 {
		t.Errorf("globex sees %d scans", len(sl.Scans))
	}
	var fl server.FindingList
	g.getJSON("/api/findings", globex, 200, &fl)
	if len(fl.Findings) != 0 {
		t.Errorf("globex sees %d findings", len(fl.Findings))
	}
	g.getJSON("/api/findings", acme, 200, &fl)
	if len(fl.Findings) == 0 && len(sc.Result.Findings) > 0 {
		t.Errorf("acme sees no findings")
	}
}

// TestAPITokens: create (secret shown once, only its SHA-256 stored), use,
// list, revoke, then the token is refused.
func TestAPITokens(t *testing.T) {
	g := newGateway(t, gwOptions{})
	jwtTok := g.token("alice", "acme", server.RoleScanner)
	code, _, body := g.do("POST", "/api/tokens", jwtTok, map[string]any{"name": "ci", "role": "viewer", "expiresIn": 3600})
	if code != http.StatusCreated {
		t.Fatalf("create token: %d %s", code, body)
	}
	var tc server.TokenCreated
	if err := json.Unmarshal(body, &tc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tc.Secret, server.TokenPrefix) || tc.Token.Role != "viewer" || tc.Token.ExpiresAt == nil {
		t.Fatalf("token %+v", tc)
	}
	stored, err := g.store.TokenByHash(t.Context(), sha256hex(tc.Secret))
	if err != nil || stored.ID != tc.Token.ID {
		t.Fatalf("store does not hold the secret's sha256: %v", err)
	}
	if strings.Contains(string(mustJSON(t, stored)), tc.Secret) {
		t.Fatal("the stored token carries the secret")
	}
	if code, _, body := g.do("GET", "/api/scans", tc.Secret, nil); code != 200 {
		t.Fatalf("API token refused: %d %s", code, body)
	}
	if code, _, _ := g.do("POST", "/api/scan", tc.Secret, map[string]string{"image": "x/y:z"}); code != http.StatusForbidden {
		t.Errorf("viewer token scanning: %d, want 403", code)
	}
	var tl server.TokenList
	g.getJSON("/api/tokens", jwtTok, 200, &tl)
	if len(tl.Tokens) != 1 || tl.Tokens[0].ID != tc.Token.ID || strings.Contains(string(mustJSON(t, tl)), tc.Secret) {
		t.Fatalf("list: %+v", tl)
	}
	// Another tenant's admin cannot see or revoke it.
	other := g.token("eve", "globex", server.RoleAdmin)
	if code, _, _ := g.do("DELETE", "/api/tokens/"+tc.Token.ID, other, nil); code != http.StatusNotFound {
		t.Errorf("globex revoking acme's token: %d, want 404", code)
	}
	if code, _, body := g.do("DELETE", "/api/tokens/"+tc.Token.ID, jwtTok, nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", code, body)
	}
	if code, _, _ := g.do("GET", "/api/scans", tc.Secret, nil); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if code, _, _ := g.do("GET", "/api/scans", server.TokenPrefix+"unknown", nil); code != http.StatusUnauthorized {
		t.Errorf("unknown token: %d, want 401", code)
	}
}
