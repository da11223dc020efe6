package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stella-scan/stella/internal/store"
)

// Roles, from most to least powerful. A role may do what the roles below
// it may do.
const (
	RoleAdmin   = "admin"   // everything in its tenant, every token
	RoleScanner = "scanner" // submit scans, read
	RoleViewer  = "viewer"  // read
)

var roleRank = map[string]int{RoleViewer: 1, RoleScanner: 2, RoleAdmin: 3}

// ValidRole reports whether r is one of the roles.
func ValidRole(r string) bool { return roleRank[r] > 0 }

// roleAtLeast reports whether have grants want.
func roleAtLeast(have, want string) bool {
	return roleRank[have] >= roleRank[want] && roleRank[want] > 0
}

// Principal is who made a request.
type Principal struct {
	Subject string
	Tenant  string
	Role    string
	// TokenID is set when the request used an API token.
	TokenID string
}

// TokenPrefix starts every API token secret, so the gateway tells them
// from JWTs without trying to parse them.
const TokenPrefix = "stl_"

// AuthConfig says which bearer tokens the gateway accepts.
type AuthConfig struct {
	// HS256Secret enables HS256 JWTs (from STELLA_JWT_SECRET or a file).
	HS256Secret []byte
	// JWKS holds the public keys for RS256 and ES256 JWTs (from a file or
	// a URL, see LoadJWKS and NewJWKSURL).
	JWKS KeySource
	// Issuer and Audience must match the iss and aud claims; both are
	// required when JWTs are enabled.
	Issuer   string
	Audience string
	// Leeway tolerates clock skew on exp and nbf (default 30s).
	Leeway time.Duration
	// TenantClaim and RoleClaim name the claims carrying the tenant and
	// the role (default "tenant" and "role").
	TenantClaim string
	RoleClaim   string
}

func (c AuthConfig) jwtEnabled() bool { return len(c.HS256Secret) > 0 || c.JWKS != nil }

// authError is a refused credential; the message goes to the client.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }

func refuse(format string, a ...any) error { return &authError{msg: fmt.Sprintf(format, a...)} }

// authenticator checks bearer tokens: JWTs, or API tokens from the store.
type authenticator struct {
	cfg    AuthConfig
	parser *jwt.Parser
	store  store.Store
	now    func() time.Time
}

func newAuthenticator(cfg AuthConfig, st store.Store, now func() time.Time) (*authenticator, error) {
	if cfg.TenantClaim == "" {
		cfg.TenantClaim = "tenant"
	}
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "role"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	a := &authenticator{cfg: cfg, store: st, now: now}
	if !cfg.jwtEnabled() {
		return a, nil
	}
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("JWT auth needs an issuer and an audience to check (--jwt-issuer, --jwt-audience)")
	}
	if len(cfg.HS256Secret) > 0 && len(cfg.HS256Secret) < 32 {
		return nil, errors.New("the HS256 secret is shorter than 32 bytes: generate one with `openssl rand -base64 48`")
	}
	// Only the algorithms whose keys are configured: with no HS256 secret,
	// an HS256 token signed with a public key (algorithm confusion) is
	// refused before any key is looked at; "none" is never valid.
	var methods []string
	if len(cfg.HS256Secret) > 0 {
		methods = append(methods, "HS256")
	}
	if cfg.JWKS != nil {
		methods = append(methods, "RS256", "ES256")
	}
	a.parser = jwt.NewParser(
		jwt.WithValidMethods(methods),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(cfg.Leeway),
		jwt.WithTimeFunc(now),
	)
	return a, nil
}

// authenticate returns the principal of r, or an *authError.
func (a *authenticator) authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	raw, ok := bearer(r)
	if !ok {
		return nil, refuse("missing bearer token: send Authorization: Bearer <JWT or API token>")
	}
	if strings.HasPrefix(raw, TokenPrefix) {
		return a.apiToken(ctx, raw)
	}
	if a.parser == nil {
		return nil, refuse("JWTs are not accepted by this server: use an API token")
	}
	return a.jwt(ctx, raw)
}

// bearer extracts the token from the Authorization header, or, for the
// WebSocket endpoint whose browser clients cannot set headers, from the
// access_token query parameter.
func bearer(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
			return "", false
		}
		return strings.TrimSpace(tok), true
	}
	if r.URL.Path == "/api/events" {
		if t := r.URL.Query().Get("access_token"); t != "" {
			return t, true
		}
	}
	return "", false
}

// hashToken is what the store keeps of an API token secret.
func hashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

func (a *authenticator) apiToken(ctx context.Context, secret string) (*Principal, error) {
	t, err := a.store.TokenByHash(ctx, hashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, refuse("unknown API token")
	}
	if err != nil {
		return nil, fmt.Errorf("look up API token: %w", err)
	}
	now := a.now()
	if t.RevokedAt != nil {
		return nil, refuse("API token %s was revoked", t.ID)
	}
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return nil, refuse("API token %s expired at %s", t.ID, t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return &Principal{Subject: t.Subject, Tenant: t.Tenant, Role: t.Role, TokenID: t.ID}, nil
}

func (a *authenticator) jwt(ctx context.Context, raw string) (*Principal, error) {
	claims := jwt.MapClaims{}
	_, err := a.parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) { return a.key(ctx, t) })
	if err != nil {
		return nil, refuse("invalid JWT: %v", err)
	}
	sub, _ := claims["sub"].(string)
	tenant, _ := claims[a.cfg.TenantClaim].(string)
	role, _ := claims[a.cfg.RoleClaim].(string)
	switch {
	case sub == "":
		return nil, refuse("invalid JWT: no sub claim")
	case tenant == "":
		return nil, refuse("invalid JWT: no %s claim", a.cfg.TenantClaim)
	case !ValidRole(role):
		return nil, refuse("invalid JWT: %s claim %q is not admin, scanner or viewer", a.cfg.RoleClaim, role)
	}
	return &Principal{Subject: sub, Tenant: tenant, Role: role}, nil
}

// key returns the verification key for t. Each algorithm family only ever
// gets its own kind of key, so a token cannot make an RSA public key serve
// as an HMAC secret.
func (a *authenticator) key(ctx context.Context, t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		if alg != "HS256" || len(a.cfg.HS256Secret) == 0 {
			return nil, fmt.Errorf("algorithm %s not accepted", alg)
		}
		return a.cfg.HS256Secret, nil
	case *jwt.SigningMethodRSA, *jwt.SigningMethodECDSA:
		if a.cfg.JWKS == nil {
			return nil, fmt.Errorf("algorithm %s not accepted", alg)
		}
		kid, _ := t.Header["kid"].(string)
		return a.cfg.JWKS.Key(ctx, kid, alg)
	}
	return nil, fmt.Errorf("algorithm %s not accepted", alg)
}

// allowed reports whether p may use a route needing role.
func (p *Principal) allowed(role string) bool { return roleAtLeast(p.Role, role) }

// rolesUpTo lists the roles p may hand to a token it creates.
func (p *Principal) rolesUpTo() []string {
	var out []string
	for _, r := range []string{RoleViewer, RoleScanner, RoleAdmin} {
		if roleAtLeast(p.Role, r) {
			out = append(out, r)
		}
	}
	return slices.Clip(out)
}
