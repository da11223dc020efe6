package scan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/vex"
	"github.com/stella-scan/stella/internal/vulndb"
)

// ScanOptions control one vulnerability scan.
type ScanOptions struct {
	// Options are the SBOM options (image source, limits, analyzers, cache).
	Options
	// DB is the open vulnerability database; required.
	DB *vulndb.DB
	// Engine, when set, is reused (its lookup cache survives across
	// scans); it must be built on DB. Nil: a new engine per scan.
	Engine *match.Engine
	// VEX lists VEX documents (OpenVEX, CycloneDX, CSAF) to apply.
	VEX []string
	// Filter drops findings the user does not want to see.
	Filter report.Filter
	// Plugins, when set, take part in the scan: SBOM mutators before
	// matching, vulnerability providers after it (internal/plugin.Host).
	Plugins Plugins
	// StellaVersion goes into the provenance.
	StellaVersion string
	// Now, when set, is the clock (tests); default time.Now.
	Now func() time.Time
}

// Plugins are the plug-ins of a scan. A plug-in that fails is recorded in
// the provenance; the scan goes on without it.
type Plugins interface {
	MutateSBOM(ctx context.Context, doc *sbom.Document) (*sbom.Document, []report.Plugin)
	Provide(ctx context.Context, doc *sbom.Document) ([]match.Finding, []report.Plugin)
	// Provenance lists every plug-in found, with its digest and state.
	Provenance() []report.Plugin
}

// ErrNoDB is returned when ScanOptions.DB is nil.
var ErrNoDB = errors.New("no vulnerability DB: run `stella db sync` (or `stella kit import`) first, or pass --db FILE")

// Scan lists the packages of target and matches them against the DB: the
// SBOM pipeline, then the matchers, VEX statements and the filter.
func Scan(ctx context.Context, target string, opts ScanOptions) (*Result, error) {
	if opts.DB == nil {
		return nil, ErrNoDB
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	t0 := now()
	// VEX documents are read first: a bad --vex fails before any layer is read.
	docs, err := loadVEX(opts.VEX)
	if err != nil {
		return nil, err
	}
	doc, st, err := SBOM(ctx, target, opts.Options)
	if err != nil {
		return nil, err
	}
	return matchDocument(ctx, doc, st, docs, opts, t0, now)
}

// ScanDocument matches an SBOM already at hand (from SBOM, a file or a
// cache) the same way Scan does.
func ScanDocument(ctx context.Context, doc *sbom.Document, st *Stats, opts ScanOptions) (*Result, error) {
	if opts.DB == nil {
		return nil, ErrNoDB
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	docs, err := loadVEX(opts.VEX)
	if err != nil {
		return nil, err
	}
	return matchDocument(ctx, doc, st, docs, opts, now(), now)
}

func loadVEX(paths []string) ([]*vex.Document, error) {
	var docs []*vex.Document
	for _, p := range paths {
		d, err := vex.Load(p)
		if err != nil {
			return nil, &image.InputError{Input: "VEX document", Err: err}
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func matchDocument(ctx context.Context, doc *sbom.Document, st *Stats, docs []*vex.Document, opts ScanOptions, t0 time.Time, now func() time.Time) (*Result, error) {
	eng := opts.Engine
	if eng == nil {
		eng = match.New(opts.DB, nil)
		defer eng.Close()
	}
	var runs []report.Plugin
	if opts.Plugins != nil {
		var r []report.Plugin
		doc, r = opts.Plugins.MutateSBOM(ctx, doc)
		runs = append(runs, r...)
	}
	tm := now()
	findings, mst, err := eng.Match(ctx, doc.Packages)
	if err != nil {
		return nil, fmt.Errorf("match %s against %s: %w", doc.Target, opts.DB.Path(), err)
	}
	matchTime := now().Sub(tm)
	if opts.Plugins != nil {
		extra, r := opts.Plugins.Provide(ctx, doc)
		findings = append(findings, extra...)
		runs = append(runs, r...)
	}
	if findings == nil {
		findings = []match.Finding{}
	}
	t := vex.Target{}
	if doc.Image != nil {
		t.ImageDigest = doc.Image.Digest
	}
	vex.Apply(docs, findings, t)

	r := &Result{
		SchemaVersion: report.SchemaVersion,
		Target:        doc.Target,
		Image:         imageInfo(doc, st),
		SBOM:          doc,
		Findings:      findings,
		Policy:        report.Policy{Decision: "not_evaluated"},
	}
	r.Provenance = report.Provenance{
		StellaVersion: opts.StellaVersion,
		ScannedAt:     t0.UTC(),
		Analyzers:     analyzerInfo(analyzers(opts.Options)),
		Plugins:       pluginProvenance(opts.Plugins, runs),
		SBOMSource:    doc.Source,
		MatchStats:    mst,
	}
	for _, d := range docs {
		r.Provenance.VEX = append(r.Provenance.VEX, d.Path)
	}
	if r.Provenance.DB, err = dbInfo(ctx, opts.DB, t0); err != nil {
		return nil, fmt.Errorf("vulnerability DB %s: %w", opts.DB.Path(), err)
	}
	if st != nil {
		r.Timing = report.Timing{OpenMS: ms(st.Open), AnalyzeMS: ms(st.Analyze), AssembleMS: ms(st.Assemble)}
	}
	r.Timing.MatchMS = ms(matchTime)
	r.Timing.TotalMS = ms(now().Sub(t0))
	opts.Filter.Apply(r) // also computes the summary
	return r, nil
}

// pluginProvenance lists every plug-in found; those that ran in this scan
// say how their call ended.
func pluginProvenance(p Plugins, runs []report.Plugin) []report.Plugin {
	out := []report.Plugin{}
	if p == nil {
		return out
	}
	ran := map[string]report.Plugin{}
	for _, r := range runs {
		ran[r.File] = r
	}
	for _, pl := range p.Provenance() {
		if r, ok := ran[pl.File]; ok {
			pl = r
		}
		out = append(out, pl)
	}
	return out
}
