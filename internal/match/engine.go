package match

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stella-scan/stella/internal/feed/cvss"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/vulndb"
)

// Matcher is one kind of advisory matching.
type Matcher interface {
	Name() string
	Match(ctx context.Context, pkgs []sbom.Package, db vulndb.Reader) ([]Finding, error)
}

// Default is every matcher, in the order findings are reported.
func Default() []Matcher { return []Matcher{Distro{}, Ecosystem{}, GoStdlib{}, CPE{}} }

// Engine runs matchers against one DB, caching lookups across calls: keep
// one Engine per open DB and reuse it for many scans.
type Engine struct {
	db       *cachedReader
	matchers []Matcher

	mu       sync.Mutex
	enr      *vulndb.Enricher
	enriched map[string]*vulndb.Enrichment
	infos    map[string]*advInfo
}

// New returns an engine over db running matchers (nil: Default()).
func New(db vulndb.Reader, matchers []Matcher) *Engine {
	if matchers == nil {
		matchers = Default()
	}
	return &Engine{db: newCachedReader(db), matchers: matchers, enriched: map[string]*vulndb.Enrichment{}, infos: map[string]*advInfo{}}
}

// Close releases the engine's prepared statements (not the DB).
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.enr != nil {
		e.enr.Close()
		e.enr = nil
	}
	return nil
}

// Stats counts what one Match did.
type Stats struct {
	Packages int           `json:"packages"`
	Findings int           `json:"findings"`
	Skipped  Skipped       `json:"skipped"`
	Duration time.Duration `json:"duration"`
}

// Skipped counts packages no matcher looked at, by reason.
type Skipped struct {
	// OwnedByOS: language packages inside an OS package, judged through
	// that OS package's distro advisories.
	OwnedByOS int `json:"ownedByOS"`
	// NoVersion: packages without a comparable version ("(devel)", "").
	NoVersion int `json:"noVersion"`
	// UnknownDistro: OS packages of a distro or release the matcher cannot
	// name.
	UnknownDistro int `json:"unknownDistro"`
}

// Match finds the vulnerabilities of pkgs: every matcher's findings,
// one per package and vulnerability (a vulnerability reached through
// several records or aliases is one finding with several evidence
// entries), enriched with aliases, summary, CVSS vectors, CWEs, KEV and
// EPSS, and sorted by severity, package and id.
func (e *Engine) Match(ctx context.Context, pkgs []sbom.Package) ([]Finding, *Stats, error) {
	t0 := time.Now()
	st := &Stats{Packages: len(pkgs)}
	for i := range pkgs {
		p := &pkgs[i]
		switch {
		case p.OwnedBy != "" && !sbom.IsOS(p.Ecosystem):
			st.Skipped.OwnedByOS++
		case p.Version == "" || p.Version == "(devel)":
			st.Skipped.NoVersion++
		case sbom.IsOS(p.Ecosystem):
			if _, _, ok := DistroRelease(p.Distro); !ok {
				st.Skipped.UnknownDistro++
			}
		}
	}
	if err := e.db.prefetch(ctx, pkgs); err != nil {
		return nil, nil, err
	}
	var all []Finding
	for _, m := range e.matchers {
		fs, err := m.Match(ctx, pkgs, e.db)
		if err != nil {
			return nil, nil, fmt.Errorf("%s matcher: %w", m.Name(), err)
		}
		all = append(all, fs...)
	}
	all = merge(all)
	if err := e.prefetchEnrichment(ctx, all); err != nil {
		return nil, nil, err
	}
	for i := range all {
		if err := e.enrich(ctx, &all[i]); err != nil {
			return nil, nil, err
		}
	}
	Sort(all)
	st.Findings = len(all)
	st.Duration = time.Since(t0)
	return all, st, nil
}

// merge folds findings of one package and one advisory that different
// matchers produced (a package reachable by two routes).
func merge(fs []Finding) []Finding {
	idx := map[string]int{}
	out := fs[:0]
	for _, f := range fs {
		k := f.Package.ID + "\x00" + f.Package.Path + "\x00" + f.ID
		if i, ok := idx[k]; ok {
			g := &out[i]
			g.Evidence = append(g.Evidence, f.Evidence...)
			for _, a := range f.Aliases {
				g.Aliases = appendUnique(g.Aliases, a)
			}
			for _, v := range f.FixedVersions {
				g.FixedVersions = appendUnique(g.FixedVersions, v)
			}
			if statePriority[f.State] < statePriority[g.State] {
				g.State = f.State
			}
			if f.Confidence == ConfidenceHigh {
				g.Confidence = ConfidenceHigh
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, f)
	}
	return out
}

// enricher is implemented by vulndb.DB: indexed, prepared queries for a
// finding's advisory-level facts.
type enricher interface {
	NewEnricher(ctx context.Context) (*vulndb.Enricher, error)
}

// enrichment returns the advisory-level facts of id, cached per engine.
func (e *Engine) enrichment(ctx context.Context, id string) (*vulndb.Enrichment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if en, ok := e.enriched[id]; ok {
		return en, nil
	}
	var (
		en  *vulndb.Enrichment
		err error
	)
	if er, ok := e.db.db.(enricher); ok {
		if e.enr == nil {
			if e.enr, err = er.NewEnricher(ctx); err != nil {
				return nil, err
			}
		}
		en, err = e.enr.Enrichment(ctx, id)
	} else {
		en, err = fromAdvisory(ctx, e.db, id)
	}
	if errors.Is(err, vulndb.ErrNotFound) {
		en, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("advisory %s: %w", id, err)
	}
	e.enriched[id] = en
	return en, nil
}

// prefetchEnrichment loads the enrichment of every advisory in fs that
// is not cached yet, 500 per query.
func (e *Engine) prefetchEnrichment(ctx context.Context, fs []Finding) error {
	db, ok := e.db.db.(*vulndb.DB)
	if !ok {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var ids []string
	seen := map[string]bool{}
	for i := range fs {
		id := fs[i].ID
		if _, ok := e.enriched[id]; ok || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	if e.enr == nil {
		var err error
		if e.enr, err = db.NewEnricher(ctx); err != nil {
			return err
		}
	}
	got, err := e.enr.EnrichmentBatch(ctx, db, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		e.enriched[id] = got[id]
	}
	return nil
}

// fromAdvisory builds the enrichment from a whole advisory, for readers
// other than vulndb.DB.
func fromAdvisory(ctx context.Context, db vulndb.Reader, id string) (*vulndb.Enrichment, error) {
	a, err := db.Advisory(ctx, id)
	if err != nil {
		return nil, err
	}
	en := &vulndb.Enrichment{ID: a.ID, Summary: a.Summary, Severity: a.Severity, CWEs: a.CWEs, Aliases: a.Aliases, KEV: a.KEV, EPSS: a.EPSS}
	for _, r := range a.Records {
		for _, s := range r.Severity {
			if s.Vector != "" {
				en.Scores = append(en.Scores, vulndb.SourceScore{Source: r.Source, Scorer: s.Source, Type: s.Type, Vector: s.Vector, Score: s.Score})
			}
		}
	}
	return en, nil
}

// advInfo is the enrichment of one advisory, in the shape findings use;
// computed once per engine and shared (read-only) by its findings.
type advInfo struct {
	summary  string
	aliases  []string
	cwes     []string
	cvss     []CVSS
	kev      *KEV
	epss     *EPSS
	severity Severity
}

func newAdvInfo(a *vulndb.Enrichment) *advInfo {
	in := &advInfo{summary: a.Summary, cwes: a.CWEs, severity: Severity{Label: a.Severity.Label, Score: a.Severity.Score, Vector: a.Severity.Vector, Source: a.Severity.Source}}
	for _, al := range a.Aliases {
		if al != a.ID && IsVulnID(al) {
			in.aliases = append(in.aliases, al)
		}
	}
	if a.KEV != nil {
		in.kev = &KEV{DateAdded: a.KEV.DateAdded, DueDate: a.KEV.DueDate, Ransomware: a.KEV.Ransomware}
	}
	if a.EPSS != nil {
		in.epss = &EPSS{Score: a.EPSS.Score, Percentile: a.EPSS.Percentile, Date: a.EPSS.Date}
	}
	seen := map[string]bool{}
	for _, s := range a.Scores {
		who := s.Source
		if s.Scorer != "" && s.Scorer != s.Source {
			who += ":" + s.Scorer
		}
		if seen[who+s.Vector] {
			continue
		}
		seen[who+s.Vector] = true
		score := s.Score
		if score == 0 {
			score, _ = cvss.BaseScore(s.Vector)
		}
		in.cvss = append(in.cvss, CVSS{Source: who, Type: s.Type, Vector: s.Vector, Score: score})
	}
	return in
}

// enrich adds what the advisory as a whole knows: aliases, summary, every
// CVSS vector, CWEs, KEV and EPSS, and a severity when no record in the
// finding's context had one.
func (e *Engine) enrich(ctx context.Context, f *Finding) error {
	a, err := e.info(ctx, f.ID)
	if err != nil {
		return err
	}
	if a != nil {
		f.Summary = a.summary
		if len(f.Aliases) == 0 {
			f.Aliases = a.aliases
		} else {
			for _, al := range a.aliases {
				f.Aliases = appendUnique(f.Aliases, al)
			}
			sort.Strings(f.Aliases)
		}
		f.CWEs = a.cwes
		if f.KEV == nil {
			f.KEV = a.kev
		}
		if f.EPSS == nil {
			f.EPSS = a.epss
		}
		f.CVSS = a.cvss
		if f.Severity.Label == "" {
			f.Severity = a.severity
		}
	}
	if f.Severity.Label == "" {
		f.Severity.Label = "UNKNOWN"
	}
	return nil
}

func (e *Engine) info(ctx context.Context, id string) (*advInfo, error) {
	e.mu.Lock()
	in, ok := e.infos[id]
	e.mu.Unlock()
	if ok {
		return in, nil
	}
	en, err := e.enrichment(ctx, id)
	if err != nil || en == nil {
		return nil, err
	}
	in = newAdvInfo(en)
	e.mu.Lock()
	e.infos[id] = in
	e.mu.Unlock()
	return in, nil
}

// Sort orders findings by severity (critical first), then package name,
// version and path, then advisory id.
func Sort(fs []Finding) {
	idx := make([]int, len(fs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, b := &fs[idx[i]], &fs[idx[j]]
		if ra, rb := SeverityRank(a.Severity.Label), SeverityRank(b.Severity.Label); ra != rb {
			return ra < rb
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		if a.Package.Version != b.Package.Version {
			return a.Package.Version < b.Package.Version
		}
		if a.Package.Path != b.Package.Path {
			return a.Package.Path < b.Package.Path
		}
		return a.ID < b.ID
	})
	sorted := make([]Finding, len(fs))
	for i, j := range idx {
		sorted[i] = fs[j]
	}
	copy(fs, sorted)
}

// Has reports whether id names the finding: its id, an alias, or the id of
// one of its source records.
func (f *Finding) Has(id string) bool {
	if f.ID == id {
		return true
	}
	for _, a := range f.Aliases {
		if a == id {
			return true
		}
	}
	for _, e := range f.Evidence {
		if e.RecordID == id {
			return true
		}
	}
	return false
}
