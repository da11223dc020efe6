// Package feed defines how one vulnerability source becomes normalized
// records. Each source lives in its own sub-package (nvd, osv, debian, ...)
// and implements Connector; the vulndb package merges the records.
package feed

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Source says where a connector reads from: the real endpoint (BaseURL, with
// an HTTP client) or a local mirror directory laid out as DIR/<source>/...
type Source struct {
	BaseURL string // empty: the connector's default public endpoint
	Mirror  string // non-empty: read files under Mirror/<connector name>/ instead
	APIKey  string // optional (NVD)

	// Client fetches over HTTP with retries and bounds; nil means a
	// NewClient() with default settings. Tests point it (and BaseURL) at a
	// loopback server.
	Client *Client
	// Validators holds ETag / Last-Modified per URL from the previous sync;
	// Client.Get sends them and answers 304 as Response.NotModified. May be nil.
	Validators *Validators
	// OnProblem receives every document a connector could not read; the
	// connector goes on with the next one. Nil: problems are only logged.
	OnProblem func(Problem)
	// Limits bound what one document may cost; zero fields take defaults.
	Limits Limits
}

// Problem is a document a connector could not read. It does not stop the
// run: the connector reports it and goes on.
type Problem struct {
	Source string // connector name
	Doc    string // URL or mirror path (zip members as path!member)
	Err    error
}

func (p Problem) Error() string { return fmt.Sprintf("%s: %s: %v", p.Source, p.Doc, p.Err) }

// Report hands a problem to OnProblem, or logs it as a warning when
// nobody listens.
func (s Source) Report(ctx context.Context, source, doc string, err error) {
	p := Problem{Source: source, Doc: doc, Err: err}
	if s.OnProblem != nil {
		// The receiver shows it (stella db sync lists problems at the end).
		slog.DebugContext(ctx, "feed document skipped", "source", source, "doc", doc, "err", err)
		s.OnProblem(p)
		return
	}
	slog.WarnContext(ctx, "feed document skipped", "source", source, "doc", doc, "err", err)
}

// HTTP returns the source's client or a default one.
func (s Source) HTTP() *Client {
	if s.Client != nil {
		return s.Client
	}
	return NewClient()
}

// Send delivers r to out unless ctx is done.
func Send(ctx context.Context, out chan<- Record, r Record) error {
	select {
	case out <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connector turns one source into records. Fetch sends every record it can
// read to out and reports unreadable files through Problems without stopping.
type Connector interface {
	Name() string
	Info() Info
	Fetch(ctx context.Context, src Source, since time.Time, out chan<- Record) error
}

// Info describes a connector for `stella db sources`.
type Info struct {
	Name    string
	URL     string
	Format  string
	License string
}

// Record is one source's statement about one vulnerability.
type Record struct {
	ID        string    // the source's own id: CVE-…, GHSA-…, DSA-…, USN-…, JVNDB-…
	Aliases   []string  // other ids of the same vulnerability (CVE first where known)
	Source    string    // connector name
	Published time.Time // zero when unknown
	Modified  time.Time
	Withdrawn bool     // rejected / withdrawn
	Status    string   // the source's own status word when it has one (NVD vulnStatus)
	Related   []string // ids the source calls related but not the same (OSV "related")
	Summary   string
	Details   string
	CWEs      []string
	URLs      []string

	Severity []Severity // per scoring system as the source states it
	Affected []Affected // ecosystem ranges or distro fixed versions
	CPEs     []CPEMatch // NVD configurations, flattened to vulnerable matches

	KEV  *KEV  // CISA KEV enrichment
	EPSS *EPSS // FIRST EPSS enrichment

	// Provenance.
	DocURL    string    // where the document came from (URL or mirror path)
	DocDigest string    // sha256:… of the document bytes
	FetchedAt time.Time // when the document was read
}

// Severity is one score as a source gives it.
type Severity struct {
	Source string  // who scored it (nvd@nist.gov, ghsa, debian, …)
	Type   string  // CVSS_V2, CVSS_V3, CVSS_V4, or "" for a label only
	Vector string  // CVSS vector when given
	Score  float64 // base score, 0 when unknown
	Label  string  // LOW, MEDIUM, HIGH, CRITICAL (normalized upper case), or the source's word
}

// Affected is one package the record affects.
//
// Ecosystem packages (npm, PyPI, Go, Maven, …) carry Ranges and/or Versions.
// Distro packages carry Distro/Release, the source package name in Package,
// FixedVersion and State.
type Affected struct {
	Ecosystem string // purl type: npm, pypi, golang, maven, gem, cargo, composer, nuget, deb, apk, rpm
	Package   string // name as the ecosystem spells it (distro: source package)
	PURL      string // when the source gives one

	Ranges   []Range
	Versions []string // explicit affected versions

	Distro       string // debian, ubuntu, alpine, rhel, …
	Release      string // bookworm, 22.04, v3.11, 8, …
	FixedVersion string
	State        string // fixed, not_affected, will_not_fix, no_dsa, open
}

// Range is an OSV range: events in order.
type Range struct {
	Type   string // ECOSYSTEM, SEMVER, GIT
	Events []Event
}

// Event is one OSV range event; exactly one field is set.
type Event struct {
	Introduced   string `json:",omitempty"`
	Fixed        string `json:",omitempty"`
	LastAffected string `json:",omitempty"`
	Limit        string `json:",omitempty"`
}

// CPEMatch is one vulnerable CPE match from an NVD configuration.
type CPEMatch struct {
	Criteria              string
	VersionStartIncluding string
	VersionStartExcluding string
	VersionEndIncluding   string
	VersionEndExcluding   string
	// Config groups matches of one configuration; Operator and Negate keep
	// the node logic so that "running on" platform nodes are not lost.
	Config     int
	Node       int
	Operator   string
	Negate     bool
	Vulnerable bool
	// ConfigOperator is the configuration's own operator ("AND" when a
	// vulnerable node only counts together with a platform node; "" or "OR").
	ConfigOperator string `json:",omitempty"`
}

// KEV is the CISA Known Exploited Vulnerabilities entry.
type KEV struct {
	DateAdded  string // YYYY-MM-DD
	DueDate    string
	Ransomware string // Known / Unknown
	Vendor     string
	Product    string
}

// EPSS is the FIRST EPSS score for a CVE.
type EPSS struct {
	Score      float64
	Percentile float64
	Date       string
}

// States of a distro package for a vulnerability.
const (
	StateFixed       = "fixed"
	StateNotAffected = "not_affected"
	StateWillNotFix  = "will_not_fix"
	StateNoDSA       = "no_dsa"
	StateOpen        = "open"
)

// NormalizeLabel maps a source's severity word to LOW, MEDIUM, HIGH or
// CRITICAL where it has an obvious equivalent (MODERATE and Red Hat's
// "Moderate" -> MEDIUM, "Important" -> HIGH, NEGLIGIBLE/UNIMPORTANT -> LOW);
// other words are returned upper-cased.
func NormalizeLabel(s string) string {
	u := strings.ToUpper(strings.TrimSpace(s))
	switch u {
	case "MODERATE", "MED":
		return "MEDIUM"
	case "IMPORTANT":
		return "HIGH"
	case "NEGLIGIBLE", "UNIMPORTANT", "MINOR":
		return "LOW"
	}
	return u
}
