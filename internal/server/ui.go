package server

import (
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// uiCSP lets the UI load only its own scripts, styles and API.
const uiCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"

const uiMissing = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stella</title></head>
<body><main><h1>Stella</h1><p>The web UI is not in this build: run <code>make web</code> (or <code>make build</code>) and rebuild.
The API is at <a href="/api/openapi.json">/api/openapi.json</a>.</p></main></body></html>`

// serveUI answers GET requests outside the API with the single-page app:
// a file of the build when it exists (hashed assets cached for a year),
// else index.html, whose router shows the page.
func (s *Server) serveUI(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/readyz" || p == "/metrics" {
		return false
	}
	h := w.Header()
	h.Set("Content-Security-Policy", uiCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if s.cfg.UI == nil {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(uiMissing))
		return true
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name != "" && name != "index.html" {
		if b, err := fs.ReadFile(s.cfg.UI, name); err == nil {
			ct := mime.TypeByExtension(path.Ext(name))
			if ct == "" {
				ct = "application/octet-stream"
			}
			h.Set("Content-Type", ct)
			// Angular names its bundles by content hash.
			if strings.ContainsAny(path.Base(name), "-") && (strings.HasSuffix(name, ".js") || strings.HasSuffix(name, ".css")) {
				h.Set("Cache-Control", "public, max-age=31536000, immutable")
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b)
			return true
		}
		if path.Ext(name) != "" {
			return false // a missing asset is a 404, not the app
		}
	}
	b, err := fs.ReadFile(s.cfg.UI, "index.html")
	if err != nil {
		return false
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return true
}
