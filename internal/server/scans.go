package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/uuid"

	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/sbom/native"
	"github.com/stella-scan/stella/internal/sbom/spdx"
	"github.com/stella-scan/stella/internal/store"
)

// ScanRequest is the body of POST /api/scan: exactly one of image (a
// registry reference) and sbom (a CycloneDX, SPDX or Stella JSON document
// inline, or any SBOM document as a JSON string).
type ScanRequest struct {
	Image string          `json:"image,omitempty"`
	SBOM  json.RawMessage `json:"sbom,omitempty"`
}

// localPrefixes are target kinds that read the server's own files; an API
// client may only name registry images.
var localPrefixes = []string{"oci:", "dir:", "docker-archive:", "sbom:", "registry:"}

// ParseScanRequest decodes and checks a POST /api/scan body and returns
// what the store keeps.
func ParseScanRequest(b []byte) (core.Envelope, error) {
	var req ScanRequest
	if err := decodeStrict(b, &req); err != nil {
		return core.Envelope{}, err
	}
	hasSBOM := len(req.SBOM) > 0 && !bytes.Equal(bytes.TrimSpace(req.SBOM), []byte("null"))
	switch {
	case req.Image != "" && hasSBOM:
		return core.Envelope{}, badRequest("give either image or sbom, not both")
	case req.Image == "" && !hasSBOM:
		return core.Envelope{}, badRequest(`give "image" (a registry reference such as registry.example.com/app:1.2) or "sbom" (a CycloneDX, SPDX or Stella JSON document)`)
	}
	if req.Image != "" {
		for _, p := range localPrefixes {
			if strings.HasPrefix(req.Image, p) {
				return core.Envelope{}, badRequest("image %q: only registry references can be scanned through the API (no %s targets)", req.Image, strings.TrimSuffix(p, ":"))
			}
		}
		if len(req.Image) > 1024 {
			return core.Envelope{}, badRequest("image reference longer than 1024 characters")
		}
		ref, err := name.ParseReference(req.Image)
		if err != nil {
			return core.Envelope{}, badRequest("image %q: %v", req.Image, err)
		}
		return core.Envelope{Image: ref.String()}, nil
	}
	doc := []byte(req.SBOM)
	if doc[0] == '"' { // a document as a JSON string (XML, tag-value)
		var s string
		if err := json.Unmarshal(doc, &s); err != nil {
			return core.Envelope{}, badRequest("sbom: %v", err)
		}
		doc = []byte(s)
	} else if doc[0] != '{' {
		return core.Envelope{}, badRequest("sbom: want a JSON object (CycloneDX, SPDX or Stella JSON) or a string")
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return core.Envelope{}, badRequest("sbom is empty")
	}
	return core.Envelope{SBOM: doc}, nil
}

// ScanAccepted is the 202 answer to POST /api/scan.
type ScanAccepted struct {
	ID     string `json:"id"`
	State  string `json:"state"`
	Target string `json:"target"`
	Self   string `json:"self"`
}

func (s *Server) postScan(w http.ResponseWriter, r *http.Request, p *Principal) {
	var raw json.RawMessage
	if err := decodeJSON(w, r, s.cfg.MaxBody, &raw); err != nil {
		s.requestFailed(w, err)
		return
	}
	env, err := ParseScanRequest(raw)
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	// Only well-formed requests count against the daily scan quota.
	if err := s.quotas.scan(r.Context(), p.Tenant); err != nil {
		s.quotaError(w, err)
		return
	}
	now := s.cfg.Now().UTC()
	sc := &store.Scan{
		ID: uuid.NewString(), Tenant: p.Tenant, Target: core.Request{Image: env.Image, SBOM: env.SBOM}.Target(),
		State: store.StateQueued, CreatedAt: now, UpdatedAt: now, Request: env.Encode(),
	}
	// Durable before the 202: a crash after this line loses no accepted
	// scan (the in-process queue is rebuilt from the store's queued scans).
	if err := s.cfg.Store.CreateScan(r.Context(), sc); err != nil {
		s.requestFailed(w, fmt.Errorf("create scan of %s: %w", sc.Target, err))
		return
	}
	if err := s.cfg.Queue.Enqueue(r.Context(), queue.Job{ScanID: sc.ID, Tenant: sc.Tenant}); err != nil {
		s.log.Error("enqueue", "scan", sc.ID, "err", err)
		sc.State, sc.Error, sc.UpdatedAt = store.StateFailed, "could not be queued: "+err.Error(), s.cfg.Now().UTC()
		if uerr := s.cfg.Store.UpdateScan(r.Context(), sc); uerr != nil {
			s.log.Error("mark scan failed", "scan", sc.ID, "err", uerr)
		}
		writeError(w, http.StatusServiceUnavailable, "the job queue is unavailable; retry later")
		return
	}
	s.metrics.enqueued.Inc()
	s.pub.Publish(r.Context(), Event{Type: EventQueued, ScanID: sc.ID, Tenant: sc.Tenant, Target: sc.Target, State: sc.State, Time: now})
	self := "/api/scans/" + sc.ID
	w.Header().Set("Location", self)
	writeJSON(w, http.StatusAccepted, ScanAccepted{ID: sc.ID, State: sc.State, Target: sc.Target, Self: self})
}

// queryInt reads a non-negative integer query parameter.
func queryInt(r *http.Request, key string, def, max int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("%s=%q: want an integer from 1 to %d", key, v, max)
	}
	return n, nil
}

var states = map[string]bool{store.StateQueued: true, store.StateRunning: true, store.StateDone: true, store.StateFailed: true}

// ScanList is the answer to GET /api/scans.
type ScanList struct {
	Scans []store.Scan `json:"scans"`
	Next  string       `json:"next,omitempty"`
}

func (s *Server) listScans(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	f := store.ScanFilter{Tenant: p.Tenant, State: q.Get("state"), Target: q.Get("target"), Digest: q.Get("digest"), Verdict: q.Get("verdict"), Cursor: q.Get("cursor")}
	if f.State != "" && !states[f.State] {
		s.requestFailed(w, badRequest("state=%q: want queued, running, done or failed", f.State))
		return
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.requestFailed(w, badRequest("since=%q: want an RFC 3339 time such as 2024-05-01T00:00:00Z", v))
			return
		}
		f.Since = t
	}
	var err error
	if f.Limit, err = queryInt(r, "limit", 50, 500); err != nil {
		s.requestFailed(w, err)
		return
	}
	scans, next, err := s.cfg.Store.ListScans(r.Context(), f)
	if err != nil {
		if f.Cursor != "" {
			s.requestFailed(w, badRequest("cursor=%q: %v", f.Cursor, err))
			return
		}
		s.requestFailed(w, fmt.Errorf("list scans: %w", err))
		return
	}
	if scans == nil {
		scans = []store.Scan{}
	}
	for i := range scans {
		scans[i].Result = nil
	}
	writeJSON(w, http.StatusOK, ScanList{Scans: scans, Next: next})
}

// scanOf loads a scan of p's tenant; another tenant's scan is 404 like an
// absent one.
func (s *Server) scanOf(w http.ResponseWriter, r *http.Request, p *Principal) *store.Scan {
	id := r.PathValue("id")
	sc, err := s.cfg.Store.GetScan(r.Context(), p.Tenant, id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "scan %q not found", id)
		return nil
	}
	if err != nil {
		s.requestFailed(w, fmt.Errorf("get scan %s: %w", id, err))
		return nil
	}
	return sc
}

// ScanView is the answer to GET /api/scans/{id}: state, verdict and,
// once done, the result.
type ScanView = store.Scan

func (s *Server) getScan(w http.ResponseWriter, r *http.Request, p *Principal) {
	sc := s.scanOf(w, r, p)
	if sc == nil {
		return
	}
	if sc.Verdict == "" && sc.Result != nil {
		sc.Verdict = sc.Result.Policy.Decision
	}
	writeJSON(w, http.StatusOK, sc)
}

// sbomFormats are the ?format= values of GET /api/scans/{id}/sbom.
var sbomFormats = map[string]string{
	"cyclonedx-json": "application/vnd.cyclonedx+json",
	"spdx-json":      "application/spdx+json",
	"json":           "application/json",
}

func (s *Server) getSBOM(w http.ResponseWriter, r *http.Request, p *Principal) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "cyclonedx-json"
	}
	ct, ok := sbomFormats[format]
	if !ok {
		s.requestFailed(w, badRequest("format=%q: want cyclonedx-json, spdx-json or json", format))
		return
	}
	sc := s.scanOf(w, r, p)
	if sc == nil {
		return
	}
	if sc.State != store.StateDone || sc.Result == nil || sc.Result.SBOM == nil {
		writeError(w, http.StatusConflict, "scan %s is %s: its SBOM exists once it is done", sc.ID, sc.State)
		return
	}
	var buf bytes.Buffer
	if err := s.encodeSBOM(&buf, sc.Result.SBOM, format); err != nil {
		s.requestFailed(w, fmt.Errorf("encode SBOM of scan %s as %s: %w", sc.ID, format, err))
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) encodeSBOM(buf *bytes.Buffer, doc *sbom.Document, format string) error {
	switch format {
	case "cyclonedx-json":
		return cyclonedx.EncodeWith(buf, doc, cyclonedx.Options{SpecVersion: "1.6", ToolVersion: s.cfg.Version})
	case "spdx-json":
		return spdx.Encode(buf, doc, spdx.Options{ToolVersion: s.cfg.Version})
	default:
		return native.Encode(buf, doc)
	}
}

// FindingList is the answer to GET /api/findings.
type FindingList struct {
	Findings []store.FindingRow `json:"findings"`
	Next     string             `json:"next,omitempty"`
}

var severities = map[string]bool{"CRITICAL": true, "HIGH": true, "MEDIUM": true, "LOW": true, "UNKNOWN": true, "NEGLIGIBLE": true}

func (s *Server) findings(w http.ResponseWriter, r *http.Request, p *Principal) {
	q := r.URL.Query()
	f := store.FindingFilter{Tenant: p.Tenant, CVE: q.Get("cve"), Package: q.Get("package"), Severity: strings.ToUpper(q.Get("severity")), Cursor: q.Get("cursor")}
	if f.Severity != "" && !severities[f.Severity] {
		s.requestFailed(w, badRequest("severity=%q: want critical, high, medium, low or unknown", q.Get("severity")))
		return
	}
	var err error
	if f.Limit, err = queryInt(r, "limit", 100, 1000); err != nil {
		s.requestFailed(w, err)
		return
	}
	rows, next, err := s.cfg.Store.Findings(r.Context(), f)
	if err != nil {
		if f.Cursor != "" {
			s.requestFailed(w, badRequest("cursor=%q: %v", f.Cursor, err))
			return
		}
		s.requestFailed(w, fmt.Errorf("findings: %w", err))
		return
	}
	if rows == nil {
		rows = []store.FindingRow{}
	}
	writeJSON(w, http.StatusOK, FindingList{Findings: rows, Next: next})
}

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// ImageView is the answer to GET /api/images/{digest}.
type ImageView struct {
	Digest string `json:"digest"`
	// Latest is the newest finished scan of the image, with its result.
	Latest *ScanView    `json:"latest,omitempty"`
	Scans  []store.Scan `json:"scans"`
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request, p *Principal) {
	d := r.PathValue("digest")
	if !digestRE.MatchString(d) {
		s.requestFailed(w, badRequest("digest %q: want sha256: and 64 lower-case hex digits", d))
		return
	}
	scans, err := s.cfg.Store.ScansByDigest(r.Context(), p.Tenant, d)
	if err != nil {
		s.requestFailed(w, fmt.Errorf("scans of %s: %w", d, err))
		return
	}
	if len(scans) == 0 {
		writeError(w, http.StatusNotFound, "image %s not found: no scan of it", d)
		return
	}
	out := ImageView{Digest: d, Scans: scans}
	for i := range out.Scans {
		out.Scans[i].Result = nil
	}
	for _, sc := range scans {
		if sc.State != store.StateDone {
			continue
		}
		full, err := s.cfg.Store.GetScan(r.Context(), p.Tenant, sc.ID)
		if err != nil {
			s.requestFailed(w, fmt.Errorf("scan %s of %s: %w", sc.ID, d, err))
			return
		}
		if full.Verdict == "" && full.Result != nil {
			full.Verdict = full.Result.Policy.Decision
		}
		out.Latest = full
		break
	}
	writeJSON(w, http.StatusOK, out)
}
