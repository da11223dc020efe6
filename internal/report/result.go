// Package report holds Stella's scan result (the native JSON, documented
// by api/schema/result.json, which is also the policy input) and writes it
// as a table, JSON, CycloneDX 1.6 with vulnerabilities, SPDX 2.3, SARIF
// 2.1.0 or a self-contained HTML page.
package report

import (
	"slices"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/sbom"
)

// SchemaVersion of the native Result JSON; bumped on incompatible change.
const SchemaVersion = "1"

// Result is one scan: what was scanned, the packages found, their
// vulnerabilities and where every fact came from.
type Result struct {
	SchemaVersion string          `json:"schemaVersion"`
	Target        string          `json:"target"`
	Image         *Image          `json:"image,omitempty"`
	SBOM          *sbom.Document  `json:"sbom"`
	Findings      []match.Finding `json:"findings"`
	Summary       Summary         `json:"summary"`
	Policy        Policy          `json:"policy"`
	Provenance    Provenance      `json:"provenance"`
	Timing        Timing          `json:"timing"`
}

// Image is the scanned image: digest, platform, and per layer its cache
// status, bytes fetched and time.
type Image struct {
	Name     string  `json:"name,omitempty"`
	Digest   string  `json:"digest,omitempty"`
	ConfigID string  `json:"configID,omitempty"`
	Platform string  `json:"platform,omitempty"`
	Layers   []Layer `json:"layers"`
	// Cached is true when the whole SBOM came from the image cache.
	Cached bool `json:"cached"`
}

// Layer is one image layer and what reading it cost.
type Layer struct {
	Index      int     `json:"index"`
	DiffID     string  `json:"diffID"`
	Digest     string  `json:"digest,omitempty"`
	Size       int64   `json:"size,omitempty"`
	CreatedBy  string  `json:"createdBy,omitempty"`
	Cache      string  `json:"cache"` // hit, partial, miss
	Bytes      int64   `json:"bytes"`
	Downloaded int64   `json:"downloaded"`
	DurationMS float64 `json:"durationMs"`
	Files      int     `json:"files"`
}

// Timing is the time per phase, in milliseconds.
type Timing struct {
	OpenMS     float64 `json:"openMs"`
	AnalyzeMS  float64 `json:"analyzeMs"`
	AssembleMS float64 `json:"assembleMs"`
	MatchMS    float64 `json:"matchMs"`
	TotalMS    float64 `json:"totalMs"`
}

// Summary counts findings.
type Summary struct {
	Packages int `json:"packages"`
	// Findings counts every finding; Vulnerable those that count as
	// vulnerabilities (not not_affected, not suppressed by VEX).
	Findings   int            `json:"findings"`
	Vulnerable int            `json:"vulnerable"`
	Fixable    int            `json:"fixable"`
	BySeverity map[string]int `json:"bySeverity"` // vulnerable findings per label
	Suppressed int            `json:"suppressed"` // by VEX (not_affected or fixed)
}

// Policy is the decision on the result. Until a policy is evaluated it
// says "not_evaluated".
type Policy struct {
	Decision string   `json:"decision"` // not_evaluated, pass, warn, fail
	Reasons  []string `json:"reasons,omitempty"`
}

// Provenance says what produced the result.
type Provenance struct {
	StellaVersion string       `json:"stellaVersion"`
	ScannedAt     time.Time    `json:"scannedAt"`
	DB            DB           `json:"db"`
	Analyzers     []Analyzer   `json:"analyzers"`
	Plugins       []Plugin     `json:"plugins"`
	SBOMSource    string       `json:"sbomSource"` // unpack, attached, embedded, sbom-file
	VEX           []string     `json:"vex,omitempty"`
	MatchStats    *match.Stats `json:"matchStats,omitempty"`
}

// DB is the vulnerability database used and how fresh it was.
type DB struct {
	Path          string     `json:"path"`
	SchemaVersion int        `json:"schemaVersion"`
	BuiltAt       time.Time  `json:"builtAt"`
	AgeHours      float64    `json:"ageHours"`
	Advisories    int        `json:"advisories"`
	Sources       []DBSource `json:"sources"`
}

// DBSource is one feed's freshness.
type DBSource struct {
	Name         string    `json:"name"`
	LastSync     time.Time `json:"lastSync"`
	LastModified time.Time `json:"lastModified,omitempty"`
	Records      int       `json:"records"`
}

// Analyzer is one analyzer and its version (part of the cache key).
type Analyzer struct {
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// Plugin is a plug-in that ran, by its SHA-256.
type Plugin struct {
	Name    string `json:"name"`
	File    string `json:"file,omitempty"` // in the plug-in directory
	Kind    string `json:"kind,omitempty"` // sbom_mutator, vulnerability_provider, result_sink, rego
	Version string `json:"version,omitempty"`
	SHA256  string `json:"sha256"`
	// State is the plug-in's state at start-up (ready, refused, broken)
	// or, for one that ran in this scan, how its call ended (ok, failed).
	State      string `json:"state,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"durationMs,omitempty"`
}

// Summarize recomputes r.Summary from the findings.
func (r *Result) Summarize() {
	s := Summary{BySeverity: map[string]int{}}
	for _, l := range match.SeverityOrder {
		s.BySeverity[l] = 0
	}
	if r.SBOM != nil {
		s.Packages = len(r.SBOM.Packages)
	}
	for i := range r.Findings {
		f := &r.Findings[i]
		s.Findings++
		if f.VEX != nil && !f.Vulnerable() {
			s.Suppressed++
		}
		if !f.Vulnerable() {
			continue
		}
		s.Vulnerable++
		s.BySeverity[label(f)]++
		if len(f.FixedVersions) > 0 {
			s.Fixable++
		}
	}
	r.Summary = s
}

func label(f *match.Finding) string {
	if slices.Contains(match.SeverityOrder, f.Severity.Label) {
		return f.Severity.Label
	}
	return "UNKNOWN"
}

// Filter keeps the findings a user asked to see.
type Filter struct {
	// Severities to keep (CRITICAL, HIGH, …); empty keeps all.
	Severities []string
	// IgnoreUnfixed drops findings without a fixed version.
	IgnoreUnfixed bool
}

// Apply removes findings the filter excludes and recomputes the summary.
func (fl Filter) Apply(r *Result) {
	keep := r.Findings[:0]
	for _, f := range r.Findings {
		if len(fl.Severities) > 0 && !slices.Contains(fl.Severities, label(&f)) {
			continue
		}
		if fl.IgnoreUnfixed && len(f.FixedVersions) == 0 {
			continue
		}
		keep = append(keep, f)
	}
	r.Findings = keep
	r.Summarize()
}

// ParseSeverities reads a comma-separated severity list
// ("critical,high"); unknown words are returned as the error's subject.
func ParseSeverities(s string) ([]string, string) {
	var out []string
	for _, w := range strings.Split(s, ",") {
		w = strings.ToUpper(strings.TrimSpace(w))
		if w == "" {
			continue
		}
		if !slices.Contains(match.SeverityOrder, w) {
			return nil, w
		}
		out = append(out, w)
	}
	return out, ""
}

// FailsOn reports whether any vulnerable finding has severity at or above
// threshold (CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN = any).
func (r *Result) FailsOn(threshold string) []match.Finding {
	t := match.SeverityRank(strings.ToUpper(threshold))
	var out []match.Finding
	for _, f := range r.Findings {
		if f.Vulnerable() && match.SeverityRank(label(&f)) <= t {
			out = append(out, f)
		}
	}
	return out
}
