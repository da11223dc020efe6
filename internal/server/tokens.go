package server

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/stella-scan/stella/internal/store"
)

// TokenRequest is the body of POST /api/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	// Role defaults to the caller's; it may not exceed it.
	Role string `json:"role,omitempty"`
	// ExpiresIn, in seconds; 0 means no expiry.
	ExpiresIn int64 `json:"expiresIn,omitempty"`
}

// TokenCreated is the 201 answer: the secret is shown this once; the
// server keeps only its SHA-256.
type TokenCreated struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

const maxTokenLifetime = 366 * 24 * 3600

func newSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req TokenRequest
	if err := decodeJSON(w, r, 64<<10, &req); err != nil {
		s.requestFailed(w, err)
		return
	}
	if req.Name == "" || len(req.Name) > 200 {
		s.requestFailed(w, badRequest("name: give the token a name of 1 to 200 characters"))
		return
	}
	if req.Role == "" {
		req.Role = p.Role
	}
	if !ValidRole(req.Role) {
		s.requestFailed(w, badRequest("role %q: want admin, scanner or viewer", req.Role))
		return
	}
	if !slices.Contains(p.rolesUpTo(), req.Role) {
		writeError(w, http.StatusForbidden, "a %s may not create a %s token", p.Role, req.Role)
		return
	}
	if req.ExpiresIn < 0 || req.ExpiresIn > maxTokenLifetime {
		s.requestFailed(w, badRequest("expiresIn %d: want 0 (no expiry) up to %d seconds", req.ExpiresIn, maxTokenLifetime))
		return
	}
	secret, err := newSecret()
	if err != nil {
		s.requestFailed(w, fmt.Errorf("token secret: %w", err))
		return
	}
	now := s.cfg.Now().UTC()
	t := store.Token{ID: uuid.NewString(), Tenant: p.Tenant, Subject: p.Subject, Role: req.Role, Name: req.Name, Hash: hashToken(secret), CreatedAt: now}
	if req.ExpiresIn > 0 {
		exp := now.Add(time.Duration(req.ExpiresIn) * time.Second)
		t.ExpiresAt = &exp
	}
	if err := s.cfg.Store.PutToken(r.Context(), &t); err != nil {
		s.requestFailed(w, fmt.Errorf("store token %s: %w", t.ID, err))
		return
	}
	w.Header().Set("Location", "/api/tokens/"+t.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, TokenCreated{Token: t, Secret: secret})
}

// TokenList is the answer to GET /api/tokens: an admin sees the tenant's
// tokens, anyone else their own.
type TokenList struct {
	Tokens []store.Token `json:"tokens"`
}

func (s *Server) visibleTokens(r *http.Request, p *Principal) ([]store.Token, error) {
	all, err := s.cfg.Store.ListTokens(r.Context(), p.Tenant)
	if err != nil {
		return nil, fmt.Errorf("list tokens of %s: %w", p.Tenant, err)
	}
	out := []store.Token{}
	for _, t := range all {
		if p.Role == RoleAdmin || t.Subject == p.Subject {
			out = append(out, t)
		}
	}
	return out, nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p *Principal) {
	ts, err := s.visibleTokens(r, p)
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	writeJSON(w, http.StatusOK, TokenList{Tokens: ts})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *Principal) {
	id := r.PathValue("id")
	ts, err := s.visibleTokens(r, p)
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	if !slices.ContainsFunc(ts, func(t store.Token) bool { return t.ID == id }) {
		writeError(w, http.StatusNotFound, "token %q not found", id)
		return
	}
	err = s.cfg.Store.RevokeToken(r.Context(), p.Tenant, id, s.cfg.Now().UTC())
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "token %q not found", id)
		return
	}
	if err != nil {
		s.requestFailed(w, fmt.Errorf("revoke token %s: %w", id, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
