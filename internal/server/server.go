// Package server is Stella's API gateway (`stella serve`): the REST API
// documented by api/openapi.json, bearer auth (JWT or API tokens) with
// roles and tenants, per-tenant quotas, live scan events over WebSocket,
// health, readiness and Prometheus metrics. Scans are persisted and queued
// here; workers (in this process or `stella worker`) run them through a
// core.Scanner.
package server

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/events"
	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/store"
)

// DefaultMaxBody bounds a request body (an inline SBOM).
const DefaultMaxBody = 32 << 20

// Config wires the gateway.
type Config struct {
	Store store.Store
	Queue queue.Queue
	// Core, when set, is asked for readiness too.
	Core  core.Scanner
	Auth  AuthConfig
	Quota QuotaConfig
	// Hub receives the scan events this gateway streams on /api/events
	// (a new one when nil). Publisher is where this process's scan state
	// changes go: the Hub itself by default, or Redis when other
	// processes run scans too (events.Redis, relayed into Hub).
	Hub       *events.Hub
	Publisher events.Publisher
	// Admission, when set, is the Kubernetes admission webhook mounted at
	// POST /api/admission (unauthenticated: the API server calls it over
	// TLS; restrict who reaches it with a NetworkPolicy).
	Admission http.Handler
	// Admin wires the admin pages' data (plug-ins, feeds, policies).
	Admin Admin
	// UI is the web UI's files (index.html and its assets), served at /;
	// nil serves a page saying how to build it.
	UI fs.FS
	// MaxBody bounds request bodies (DefaultMaxBody when 0).
	MaxBody int64
	Version string
	Logger  *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Server is the gateway.
type Server struct {
	cfg     Config
	auth    *authenticator
	quotas  *quotas
	hub     *events.Hub
	pub     events.Publisher
	metrics *metrics
	store   *events.Store
	log     *slog.Logger
	handler http.Handler
	// acct is the store's tenants and users behind a short cache (nil
	// when the store keeps none).
	acct *accountCache
	// policyMu serialises policy uploads and deletions: each checks the
	// set it leaves in force, so two must not interleave.
	policyMu sync.Mutex
}

// New checks cfg and builds the gateway.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Queue == nil {
		return nil, errors.New("server: a store and a queue are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Quota.Counter == nil {
		cfg.Quota.Counter = NewMemCounter(cfg.Now)
	}
	a, err := newAuthenticator(cfg.Auth, cfg.Store, cfg.Now)
	if err != nil {
		return nil, err
	}
	if cfg.Hub == nil {
		cfg.Hub = events.NewHub()
	}
	if cfg.Publisher == nil {
		cfg.Publisher = cfg.Hub
	}
	s := &Server{cfg: cfg, auth: a, quotas: &quotas{cfg: cfg.Quota, now: cfg.Now}, hub: cfg.Hub, pub: cfg.Publisher, metrics: newMetrics(), log: cfg.Logger,
		acct: newAccountCache(cfg.Store, accountTTL)}
	cfg.Hub.Observe(s.metrics.observeEvent)
	s.quotas.limits = s.tenantLimits
	s.store = &events.Store{Store: cfg.Store, Pub: s.pub}
	s.handler = s.routes()
	return s, nil
}

// Handler is the gateway's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// WorkerStore is the store workers of this process should use: it
// publishes their state changes as events.
func (s *Server) WorkerStore() store.Store { return s.store }

// route is one API operation. role "" means no authentication.
type route struct {
	method, pattern, role string
	h                     func(w http.ResponseWriter, r *http.Request, p *Principal)
}

// Routes lists every operation "METHOD PATTERN"; the OpenAPI test compares
// it with api/openapi.json.
func (s *Server) Routes() []string {
	var out []string
	for _, rt := range s.routeTable() {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return out
}

func (s *Server) routeTable() []route {
	rs := []route{
		{"GET", "/healthz", "", s.healthz},
		{"GET", "/readyz", "", s.readyz},
		{"GET", "/metrics", "", func(w http.ResponseWriter, r *http.Request, _ *Principal) { s.metrics.handler().ServeHTTP(w, r) }},
		{"GET", "/api/openapi.json", "", s.openapi},
		{"POST", "/api/scan", RoleScanner, s.postScan},
		{"GET", "/api/scans", RoleViewer, s.listScans},
		{"GET", "/api/scans/{id}", RoleViewer, s.getScan},
		{"GET", "/api/scans/{id}/sbom", RoleViewer, s.getSBOM},
		{"GET", "/api/findings", RoleViewer, s.findings},
		{"GET", "/api/images/{digest}", RoleViewer, s.getImage},
		{"GET", "/api/events", RoleViewer, s.events},
		{"POST", "/api/tokens", RoleViewer, s.createToken},
		{"GET", "/api/tokens", RoleViewer, s.listTokens},
		{"DELETE", "/api/tokens/{id}", RoleViewer, s.revokeToken},
	}
	rs = append(rs, s.adminRoutes()...)
	rs = append(rs, s.extraRoutes()...)
	return rs
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// byPath knows every path regardless of method, to tell 405 from 404
	// with a JSON body.
	byPath := http.NewServeMux()
	allow := map[string][]string{}
	var paths []string
	for _, rt := range s.routeTable() {
		mux.Handle(rt.method+" "+rt.pattern, s.wrap(rt))
		if allow[rt.pattern] == nil {
			paths = append(paths, rt.pattern)
		}
		allow[rt.pattern] = append(allow[rt.pattern], rt.method)
	}
	for _, p := range paths {
		methods := strings.Join(allow[p], ", ")
		byPath.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			writeError(w, http.StatusMethodNotAllowed, "%s %s: allowed methods are %s", r.Method, r.URL.Path, methods)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p := mux.Handler(r); p != "" {
			mux.ServeHTTP(w, r)
			return
		}
		if _, p := byPath.Handler(r); p != "" {
			byPath.ServeHTTP(w, r)
			return
		}
		if s.serveUI(w, r) {
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint %s %s: see /api/openapi.json", r.Method, r.URL.Path)
	})
}

// wrap adds metrics, logging, authentication, role checks and quotas.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, code: http.StatusOK}
		defer func() {
			d := time.Since(start)
			s.metrics.observe(rt.method, rt.pattern, rec.code, d)
			s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "code", rec.code, "ms", d.Milliseconds())
		}()
		if rt.role == "" {
			rt.h(rec, r, nil)
			return
		}
		p, err := s.auth.authenticate(r.Context(), r)
		if err == nil {
			p, err = s.checkAccount(r.Context(), p)
		}
		if err != nil {
			var ae *authError
			if errors.As(err, &ae) {
				s.metrics.refused.WithLabelValues("auth").Inc()
				rec.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", error_description=%q`, ae.msg))
				writeError(rec, http.StatusUnauthorized, "%s", ae.msg)
				return
			}
			s.log.Error("authenticate", "err", err)
			writeError(rec, http.StatusServiceUnavailable, "cannot check credentials now; retry later")
			return
		}
		if !p.allowed(rt.role) {
			s.metrics.refused.WithLabelValues("role").Inc()
			writeError(rec, http.StatusForbidden, "role %s may not %s %s (needs %s)", p.Role, rt.method, rt.pattern, rt.role)
			return
		}
		if err := s.quotas.request(r.Context(), p.Tenant); err != nil {
			s.quotaError(rec, err)
			return
		}
		rt.h(rec, r, p)
	})
}

func (s *Server) quotaError(w http.ResponseWriter, err error) {
	var qe *quotaExceeded
	if errors.As(err, &qe) {
		s.metrics.refused.WithLabelValues("quota").Inc()
		w.Header().Set("Retry-After", fmt.Sprint(retrySeconds(qe.RetryAfter)))
		writeError(w, http.StatusTooManyRequests, "%s", qe.Error())
		return
	}
	s.log.Error("quota counter", "err", err)
	writeError(w, http.StatusServiceUnavailable, "quota counter unavailable; retry later")
}

// recorder keeps the status code and still lets the WebSocket endpoint
// hijack the connection.
type recorder struct {
	http.ResponseWriter
	code    int
	written bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.written {
		r.code, r.written = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.written = true
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("connection cannot be hijacked")
	}
	r.code, r.written = http.StatusSwitchingProtocols, true
	return h.Hijack()
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
