package admission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/stella-scan/stella/internal/policy"
)

// Decision is the answer for one image.
type Decision struct {
	// Digest is the manifest digest the decision is about: the cache key.
	// Empty when unknown; then the decision is not cached.
	Digest string
	Policy *policy.Decision
}

// Decider scans (or takes from its own cache) one image and decides it
// through the policy. The lead wires it to scan + policy; tests use a
// real scan of fixture images on a loopback registry.
type Decider func(ctx context.Context, image string) (Decision, error)

// Defaults.
const (
	DefaultTimeout     = 10 * time.Second // kube-apiserver's default webhook timeout
	DefaultScanTimeout = 5 * time.Minute
	DefaultCacheTTL    = 10 * time.Minute
	DefaultTagTTL      = time.Minute
	DefaultCacheSize   = 4096
)

// Config of a Handler.
type Config struct {
	Decide Decider
	// Timeout bounds one admission request; the API server's own timeout
	// (timeoutSeconds, at most 30) should be a little longer.
	Timeout time.Duration
	// FailOpen admits a workload whose images could not be decided in
	// time (or at all), with a warning; otherwise it is denied.
	FailOpen bool
	// ScanTimeout bounds one Decide call. It runs on after the request
	// that started it has timed out, so that the API server's retry finds
	// the decision in the cache.
	ScanTimeout time.Duration
	// CacheTTL is how long a decision per digest is kept; TagTTL how long
	// a tag is taken to point at the digest it was last decided for.
	CacheTTL, TagTTL time.Duration
	CacheSize        int
	// Parallel bounds the images decided at once for one request.
	Parallel int
	Logger   *slog.Logger
}

// Handler serves AdmissionReview requests. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	flight singleflight.Group
	mu     sync.Mutex
	byDig  map[string]cached    // digest -> decision
	byTag  map[string]tagDigest // image reference -> digest
}

type cached struct {
	d  *policy.Decision
	at time.Time
}

type tagDigest struct {
	digest string
	at     time.Time
}

// NewHandler checks cfg and fills its defaults.
func NewHandler(cfg Config) (*Handler, error) {
	if cfg.Decide == nil {
		return nil, errors.New("admission: no Decider")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ScanTimeout <= 0 {
		cfg.ScanTimeout = DefaultScanTimeout
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.TagTTL <= 0 {
		cfg.TagTTL = DefaultTagTTL
	}
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = DefaultCacheSize
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Handler{cfg: cfg, byDig: map[string]cached{}, byTag: map[string]tagDigest{}}, nil
}

// ServeHTTP answers one AdmissionReview. Malformed requests get 400; every
// well-formed one gets 200 with allowed true or false.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxReviewSize))
	if err != nil {
		http.Error(w, "reading the review: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	review, err := DecodeReview(body)
	if err != nil {
		h.cfg.Logger.Warn("admission: bad request", "remote", r.RemoteAddr, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := h.Review(r.Context(), review.Request)
	out, err := json.Marshal(Review{APIVersion: APIVersion, Kind: Kind, Response: resp})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// imageResult is the outcome for one image of a request.
type imageResult struct {
	c   Container
	d   *policy.Decision
	err error
}

// Review decides one request within the configured timeout.
func (h *Handler) Review(ctx context.Context, req *Request) *Response {
	log := h.cfg.Logger.With("uid", req.UID, "kind", req.Kind.Kind, "namespace", req.Namespace, "name", req.Name, "operation", req.Operation)
	resp := &Response{UID: req.UID, Allowed: true}
	if req.Operation == "DELETE" || req.Operation == "CONNECT" {
		return resp
	}
	containers, err := Images(req)
	if err != nil {
		return h.undecided(log, resp, []string{err.Error()})
	}
	if len(containers) == 0 {
		return resp
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	results := make([]imageResult, len(containers))
	sem := make(chan struct{}, h.cfg.Parallel)
	var wg sync.WaitGroup
	for i, c := range containers {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				results[i] = imageResult{c: c, err: ctx.Err()}
				return
			}
			d, err := h.decide(ctx, c.Image)
			results[i] = imageResult{c: c, d: d, err: err}
		})
	}
	wg.Wait()

	var denied, failed []string
	for _, r := range results {
		switch {
		case r.err != nil:
			msg := fmt.Sprintf("image %s (%s %s) could not be decided: %v", r.c.Image, r.c.Kind, r.c.Name, r.err)
			if errors.Is(r.err, context.DeadlineExceeded) {
				msg = fmt.Sprintf("image %s (%s %s) could not be decided within %s", r.c.Image, r.c.Kind, r.c.Name, h.cfg.Timeout)
			}
			failed = append(failed, msg)
		case !r.d.Allow:
			denied = append(denied, fmt.Sprintf("image %s (%s %s): %s", r.c.Image, r.c.Kind, r.c.Name, reasons(r.d.Deny, 3)))
		}
		if r.d != nil {
			for _, w := range r.d.Warn {
				resp.Warnings = append(resp.Warnings, fmt.Sprintf("%s: %s", r.c.Image, w.Text()))
			}
		}
	}
	if len(denied) > 0 {
		resp.Allowed = false
		resp.Result = &Status{Code: http.StatusForbidden, Reason: "Forbidden", Message: "stella: " + strings.Join(append(denied, failed...), "; ")}
		log.Info("admission: denied", "images", len(containers), "denied", len(denied), "undecided", len(failed))
		resp.Warnings = limitWarnings(resp.Warnings)
		return resp
	}
	if len(failed) > 0 {
		return h.undecided(log, resp, failed)
	}
	resp.Warnings = limitWarnings(resp.Warnings)
	log.Debug("admission: allowed", "images", len(containers))
	return resp
}

// undecided applies fail-open or fail-closed.
func (h *Handler) undecided(log *slog.Logger, resp *Response, problems []string) *Response {
	if h.cfg.FailOpen {
		log.Warn("admission: allowed undecided (fail-open)", "problems", problems)
		for _, p := range problems {
			resp.Warnings = append(resp.Warnings, "stella (fail-open): "+p)
		}
		resp.Allowed = true
		resp.Warnings = limitWarnings(resp.Warnings)
		return resp
	}
	log.Warn("admission: denied undecided (fail-closed)", "problems", problems)
	resp.Allowed = false
	resp.Result = &Status{Code: http.StatusForbidden, Reason: "Forbidden", Message: "stella (fail-closed): " + strings.Join(problems, "; ")}
	resp.Warnings = limitWarnings(resp.Warnings)
	return resp
}

// reasons is the first n messages.
func reasons(rs []policy.Reason, n int) string {
	var msgs []string
	for i, r := range rs {
		if i == n {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(rs)-n))
			break
		}
		msgs = append(msgs, r.Text())
	}
	if len(msgs) == 0 {
		return "denied by policy"
	}
	return strings.Join(msgs, ", ")
}

// limitWarnings keeps kubectl's output readable: at most 10 warnings of
// at most 256 characters.
func limitWarnings(ws []string) []string {
	const maxN, maxLen = 10, 256
	if len(ws) > maxN {
		rest := len(ws) - (maxN - 1)
		ws = append(ws[:maxN-1:maxN-1], fmt.Sprintf("and %d more warnings", rest))
	}
	for i, w := range ws {
		if len(w) > maxLen {
			ws[i] = w[:maxLen-3] + "..."
		}
	}
	return ws
}

// digestOf returns the digest pinned in a reference (name@sha256:…).
func digestOf(image string) string {
	if _, d, ok := strings.Cut(image, "@"); ok && strings.Contains(d, ":") {
		return d
	}
	return ""
}

// decide returns the cached decision for the image's digest, or runs the
// Decider once for all concurrent requests of the same image. The Decider
// runs detached from ctx, bounded by ScanTimeout, and fills the cache even
// when ctx ends first.
func (h *Handler) decide(ctx context.Context, image string) (*policy.Decision, error) {
	if d := h.lookup(image); d != nil {
		return d, nil
	}
	ch := h.flight.DoChan(image, func() (any, error) {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.cfg.ScanTimeout)
		defer cancel()
		dec, err := h.cfg.Decide(sctx, image)
		if err != nil {
			return nil, err
		}
		if dec.Policy == nil {
			return nil, fmt.Errorf("image %s: the decider returned no decision", image)
		}
		h.store(image, dec)
		return dec.Policy, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*policy.Decision), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Handler) lookup(image string) *policy.Decision {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	valid := func(dig string) *policy.Decision {
		if c, ok := h.byDig[dig]; ok && now.Sub(c.at) <= h.cfg.CacheTTL {
			return c.d
		}
		return nil
	}
	pinned := digestOf(image)
	if t, ok := h.byTag[image]; ok {
		// A digest reference never moves; a tag may.
		ttl := h.cfg.TagTTL
		if pinned != "" {
			ttl = h.cfg.CacheTTL
		}
		if now.Sub(t.at) <= ttl {
			if d := valid(t.digest); d != nil {
				return d
			}
		}
	}
	if pinned != "" {
		return valid(pinned)
	}
	return nil
}

func (h *Handler) store(image string, dec Decision) {
	if dec.Digest == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if len(h.byDig) >= h.cfg.CacheSize || len(h.byTag) >= h.cfg.CacheSize {
		h.evict(now)
	}
	h.byDig[dec.Digest] = cached{d: dec.Policy, at: now}
	// Also the reference itself: a tag, or an index digest whose platform
	// image has another digest.
	h.byTag[image] = tagDigest{digest: dec.Digest, at: now}
}

// evict drops expired entries, then everything if the cache is still
// full: simple, and a full cache only costs rescans.
func (h *Handler) evict(now time.Time) {
	for k, c := range h.byDig {
		if now.Sub(c.at) > h.cfg.CacheTTL {
			delete(h.byDig, k)
		}
	}
	for k, t := range h.byTag {
		if now.Sub(t.at) > h.cfg.TagTTL {
			delete(h.byTag, k)
		}
	}
	if len(h.byDig) >= h.cfg.CacheSize {
		clear(h.byDig)
	}
	if len(h.byTag) >= h.cfg.CacheSize {
		clear(h.byTag)
	}
}
