package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// PluginInfo is one plug-in as GET /api/plugins lists it.
type PluginInfo struct {
	File    string `json:"file"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	State   string `json:"state"`
	Error   string `json:"error,omitempty"`
}

// FeedInfo is one feed source of the vulnerability DB.
type FeedInfo struct {
	Name     string    `json:"name"`
	LastSync time.Time `json:"lastSync"`
	Records  int       `json:"records"`
	AgeHours float64   `json:"ageHours"`
}

// Admin wires what the UI's admin pages show; every field may be nil.
type Admin struct {
	Plugins func() []PluginInfo
	Feeds   func(ctx context.Context) ([]FeedInfo, error)
	// FeedSync refreshes the vulnerability DB (POST /api/feeds/sync).
	FeedSync func(ctx context.Context) error
	// PolicyDirs are the organisation policy directories in force.
	PolicyDirs []string
	// PolicyUploadDir receives the policies uploaded at POST
	// /api/policies (compile-checked with the others, written atomically);
	// it should be one of PolicyDirs. "" refuses uploads (501).
	PolicyUploadDir string
	// PolicyReload, when set, is called after an upload or a deletion so
	// that scans use the new policy at once; else it applies from the
	// next start.
	PolicyReload func(ctx context.Context) error
	// OperatorTenant names the tenant whose admins run the server: they
	// see and configure every tenant (quotas, disabled) and upload
	// policies, which apply to every tenant. "" means nobody may.
	OperatorTenant string
}

// adminRoutes are the operations the web UI's dashboard and admin pages
// need.
func (s *Server) adminRoutes() []route {
	return []route{
		{"GET", "/api/me", RoleViewer, s.me},
		{"GET", "/api/dashboard", RoleViewer, s.dashboard},
		{"GET", "/api/scans/{id}/report", RoleViewer, s.getReport},
		{"GET", "/api/plugins", RoleViewer, s.plugins},
		{"GET", "/api/feeds", RoleViewer, s.feeds},
		{"POST", "/api/feeds/sync", RoleAdmin, s.feedSync},
		{"GET", "/api/policies", RoleViewer, s.policies},
		{"POST", "/api/policies", RoleAdmin, s.uploadPolicy},
		{"DELETE", "/api/policies/{name}", RoleAdmin, s.deletePolicy},
		{"POST", "/api/policies/test", RoleScanner, s.policyTest},
		{"GET", "/api/users", RoleAdmin, s.users},
		{"PUT", "/api/users/{subject}", RoleAdmin, s.putUser},
		{"DELETE", "/api/users/{subject}", RoleAdmin, s.deleteUser},
		{"GET", "/api/tenants", RoleAdmin, s.tenants},
		{"PUT", "/api/tenants/{name}", RoleAdmin, s.putTenant},
		{"GET", "/api/quotas", RoleViewer, s.quotaUsage},
	}
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, p *Principal) {
	writeJSON(w, http.StatusOK, map[string]string{"subject": p.Subject, "tenant": p.Tenant, "role": p.Role, "version": s.cfg.Version})
}

var reportTypes = map[string]string{
	"json": "application/json", "sarif": "application/sarif+json", "html": "text/html; charset=utf-8",
	"cyclonedx-json": "application/vnd.cyclonedx+json", "spdx-json": "application/spdx+json",
}

// reportAliases are the short names of the SBOM formats.
var reportAliases = map[string]string{"cyclonedx": "cyclonedx-json", "spdx": "spdx-json"}

// getReport renders a done scan's result: SARIF, HTML, CycloneDX (with
// vulnerabilities), SPDX or JSON, as a download.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request, p *Principal) {
	format := r.URL.Query().Get("format")
	if f, ok := reportAliases[format]; ok {
		format = f
	}
	ct, ok := reportTypes[format]
	if !ok {
		s.requestFailed(w, badRequest("format=%q: want sarif, html, cyclonedx, spdx or json", format))
		return
	}
	sc := s.scanOf(w, r, p)
	if sc == nil {
		return
	}
	if sc.State != store.StateDone || sc.Result == nil {
		writeError(w, http.StatusConflict, "scan %s is %s: its report exists once it is done", sc.ID, sc.State)
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, sc.Result, format, report.Options{}); err != nil {
		s.requestFailed(w, fmt.Errorf("report of scan %s: %w", sc.ID, err))
		return
	}
	ext := map[string]string{"json": "json", "sarif": "sarif", "html": "html", "cyclonedx-json": "cdx.json", "spdx-json": "spdx.json"}[format]
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="stella-%s.%s"`, sc.ID, ext))
	if format == "html" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// Dashboard is the answer to GET /api/dashboard.
type Dashboard struct {
	ScansByDay []DayCount         `json:"scansByDay"`
	BySeverity map[string]int     `json:"bySeverity"`
	KEV        []store.FindingRow `json:"kev"`
	TopImages  []ImageCount       `json:"topImages"`
	Feeds      []FeedInfo         `json:"feeds"`
	TotalScans int                `json:"totalScans"`
	Findings   int                `json:"findings"`
}

// DayCount is the scans of one UTC day by verdict.
type DayCount struct {
	Day  string `json:"day"`
	Pass int    `json:"pass"`
	Warn int    `json:"warn"`
	Fail int    `json:"fail"`
	// Other counts queued, running and failed scans.
	Other int `json:"other"`
}

// ImageCount is one image's findings in its latest scan.
type ImageCount struct {
	Target     string         `json:"target"`
	Findings   int            `json:"findings"`
	BySeverity map[string]int `json:"bySeverity"`
}

// dashboardDays and dashboardRows bound the aggregates.
const (
	dashboardDays = 14
	dashboardRows = 20000
)

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, p *Principal) {
	ctx := r.Context()
	now := s.cfg.Now().UTC()
	since := now.AddDate(0, 0, -(dashboardDays - 1)).Truncate(24 * time.Hour)
	d := Dashboard{BySeverity: map[string]int{}, KEV: []store.FindingRow{}, TopImages: []ImageCount{}, Feeds: []FeedInfo{}}
	days := map[string]*DayCount{}
	for i := range dashboardDays {
		day := since.AddDate(0, 0, i).Format("2006-01-02")
		d.ScansByDay = append(d.ScansByDay, DayCount{Day: day})
	}
	for i := range d.ScansByDay {
		days[d.ScansByDay[i].Day] = &d.ScansByDay[i]
	}
	cursor := ""
	for {
		scans, next, err := s.cfg.Store.ListScans(ctx, store.ScanFilter{Tenant: p.Tenant, Since: since, Limit: 500, Cursor: cursor})
		if err != nil {
			s.requestFailed(w, err)
			return
		}
		for _, sc := range scans {
			d.TotalScans++
			dc := days[sc.CreatedAt.UTC().Format("2006-01-02")]
			if dc == nil {
				continue
			}
			switch sc.Verdict {
			case "pass":
				dc.Pass++
			case "warn":
				dc.Warn++
			case "fail":
				dc.Fail++
			default:
				dc.Other++
			}
		}
		if next == "" || d.TotalScans > dashboardRows {
			break
		}
		cursor = next
	}
	images := map[string]*ImageCount{}
	cursor = ""
	for d.Findings < dashboardRows {
		rows, next, err := s.cfg.Store.Findings(ctx, store.FindingFilter{Tenant: p.Tenant, Limit: 500, Cursor: cursor})
		if err != nil {
			s.requestFailed(w, err)
			return
		}
		for _, f := range rows {
			d.Findings++
			d.BySeverity[f.Severity]++
			if f.KEV && len(d.KEV) < 50 {
				d.KEV = append(d.KEV, f)
			}
			ic := images[f.Target]
			if ic == nil {
				ic = &ImageCount{Target: f.Target, BySeverity: map[string]int{}}
				images[f.Target] = ic
			}
			ic.Findings++
			ic.BySeverity[f.Severity]++
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, ic := range images {
		d.TopImages = append(d.TopImages, *ic)
	}
	sort.Slice(d.TopImages, func(i, j int) bool {
		a, b := d.TopImages[i], d.TopImages[j]
		if a.BySeverity["CRITICAL"] != b.BySeverity["CRITICAL"] {
			return a.BySeverity["CRITICAL"] > b.BySeverity["CRITICAL"]
		}
		if a.Findings != b.Findings {
			return a.Findings > b.Findings
		}
		return a.Target < b.Target
	})
	if len(d.TopImages) > 10 {
		d.TopImages = d.TopImages[:10]
	}
	if s.cfg.Admin.Feeds != nil {
		if fs, err := s.cfg.Admin.Feeds(ctx); err == nil {
			d.Feeds = fs
		}
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) plugins(w http.ResponseWriter, _ *http.Request, _ *Principal) {
	out := []PluginInfo{}
	if s.cfg.Admin.Plugins != nil {
		out = append(out, s.cfg.Admin.Plugins()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugins": out})
}

func (s *Server) feeds(w http.ResponseWriter, r *http.Request, _ *Principal) {
	out := []FeedInfo{}
	if s.cfg.Admin.Feeds != nil {
		fs, err := s.cfg.Admin.Feeds(r.Context())
		if err != nil {
			s.requestFailed(w, err)
			return
		}
		out = append(out, fs...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"feeds": out, "syncAvailable": s.cfg.Admin.FeedSync != nil})
}

func (s *Server) feedSync(w http.ResponseWriter, r *http.Request, _ *Principal) {
	if s.cfg.Admin.FeedSync == nil {
		writeError(w, http.StatusNotImplemented, "this server does not sync feeds itself: run `stella db sync` (from cron, or a kit import) and restart, or embed Stella with a FeedSync function")
		return
	}
	if err := s.cfg.Admin.FeedSync(r.Context()); err != nil {
		s.requestFailed(w, fmt.Errorf("feed sync: %w", err))
		return
	}
	s.feeds(w, r, nil)
}

// PolicyTest is the body of POST /api/policies/test.
type PolicyTest struct {
	ScanID string `json:"scanId"`
	Module string `json:"module"` // a Rego module to try with the bundle in force
}

// policyTest evaluates a stored scan's result with the policies in force
// plus a candidate module: what the decision would be, before anyone
// deploys the module. The module is compiled like any policy: it cannot
// reach the network or the file system.
func (s *Server) policyTest(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req PolicyTest
	if err := decodeJSON(w, r, maxPolicyView+1024, &req); err != nil {
		s.requestFailed(w, err)
		return
	}
	if req.ScanID == "" {
		s.requestFailed(w, badRequest("scanId is required"))
		return
	}
	sc, err := s.cfg.Store.GetScan(r.Context(), p.Tenant, req.ScanID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no scan %s", req.ScanID)
		return
	}
	if err != nil {
		s.requestFailed(w, err)
		return
	}
	if sc.Result == nil {
		writeError(w, http.StatusConflict, "scan %s is %s: test a policy on a done scan", sc.ID, sc.State)
		return
	}
	dirs := s.policyDirs()
	if strings.TrimSpace(req.Module) != "" {
		tmp, err := os.MkdirTemp("", "stella-policy-test-")
		if err != nil {
			s.requestFailed(w, err)
			return
		}
		defer os.RemoveAll(tmp)
		if err := os.WriteFile(filepath.Join(tmp, "candidate.rego"), []byte(req.Module), 0o600); err != nil {
			s.requestFailed(w, err)
			return
		}
		dirs = append(dirs, tmp)
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	eng, err := policy.Load(ctx, policy.Options{Dirs: dirs, Timeout: 2 * time.Second})
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the policy does not compile", "problems": strings.Split(err.Error(), "\n")})
		return
	}
	in := policy.FromResult(sc.Result)
	dec, err := eng.Evaluate(ctx, &in)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, dec)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
