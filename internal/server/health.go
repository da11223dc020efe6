package server

import (
	"context"
	_ "embed"
	"net/http"
	"time"
)

// openAPI is a copy of api/openapi.json (`make openapi` refreshes it; a
// test fails when they differ): go:embed cannot reach a parent directory.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the embedded OpenAPI document.
func OpenAPI() []byte { return openAPI }

func (s *Server) openapi(w http.ResponseWriter, _ *http.Request, _ *Principal) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request, _ *Principal) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}

// readyz answers 200 when the store (and the core, when remote) answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ *Principal) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ready := true
	if err := s.cfg.Store.Ping(ctx); err != nil {
		checks["store"], ready = err.Error(), false
	} else {
		checks["store"] = "ok"
	}
	if s.cfg.Core != nil {
		if err := s.cfg.Core.Health(ctx); err != nil {
			checks["core"], ready = err.Error(), false
		} else {
			checks["core"] = "ok"
		}
	}
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ready, "checks": checks})
}
