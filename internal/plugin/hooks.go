package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/grpc"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/pkg/pluginsdk"
)

// Bounds on what a plug-in may hand back.
const (
	maxPackages = 500000
	maxFindings = 100000
	maxField    = 4096
)

// MutateSBOM runs the SBOM mutators in directory order; each sees the
// previous one's output. It returns the document to use (doc itself is
// never changed: it may be shared with a cache) and each run's record.
func (h *Host) MutateSBOM(ctx context.Context, doc *sbom.Document) (*sbom.Document, []report.Plugin) {
	var runs []report.Plugin
	for _, p := range h.ready(pluginsdk.KindSBOMMutator) {
		var out *sbom.Document
		state, msg, ms := timed(func() error {
			return h.call(ctx, p, func(ctx context.Context, conn *grpc.ClientConn) error {
				res, err := pluginv1.NewSbomMutatorClient(conn).Mutate(ctx, toProto(doc))
				if err != nil {
					return err
				}
				out, err = apply(doc, res)
				return err
			})
		})
		if out != nil && state == "ok" {
			doc = out
		}
		runs = append(runs, h.record(p, state, msg, ms))
	}
	return doc, runs
}

// Provide asks the vulnerability providers for findings on doc's packages.
func (h *Host) Provide(ctx context.Context, doc *sbom.Document) ([]match.Finding, []report.Plugin) {
	var all []match.Finding
	var runs []report.Plugin
	for _, p := range h.ready(pluginsdk.KindVulnerabilityProvider) {
		var got []match.Finding
		state, msg, ms := timed(func() error {
			return h.call(ctx, p, func(ctx context.Context, conn *grpc.ClientConn) error {
				res, err := pluginv1.NewVulnerabilityProviderClient(conn).Provide(ctx, toProto(doc))
				if err != nil {
					return err
				}
				got, err = findings(p, doc, res.Findings)
				return err
			})
		})
		if state == "ok" {
			all = append(all, got...)
		}
		runs = append(runs, h.record(p, state, msg, ms))
	}
	return all, runs
}

// Deliver hands a finished scan to the result-sink plug-ins.
func (h *Host) Deliver(ctx context.Context, scanID, tenant string, r *report.Result) []report.Plugin {
	sinks := h.ready(pluginsdk.KindResultSink)
	if len(sinks) == 0 {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil
	}
	var runs []report.Plugin
	for _, p := range sinks {
		state, msg, ms := timed(func() error {
			return h.call(ctx, p, func(ctx context.Context, conn *grpc.ClientConn) error {
				_, err := pluginv1.NewResultSinkClient(conn).Deliver(ctx, &pluginv1.ScanResult{ScanId: scanID, Tenant: tenant, ResultJson: b})
				return err
			})
		})
		if state != "ok" {
			h.log.Warn("result sink plug-in failed", "plugin", p.File, "scan", scanID, "err", msg)
		}
		runs = append(runs, h.record(p, state, msg, ms))
	}
	return runs
}

func (h *Host) record(p *Plugin, state, msg string, ms int64) report.Plugin {
	if state != "ok" {
		h.log.Warn("plug-in call failed; the scan goes on without it", "plugin", p.File, "err", msg)
	}
	return report.Plugin{Name: p.Name, File: p.File, Kind: p.Kind, Version: p.Version, SHA256: p.SHA256, State: state, Error: msg, DurationMS: ms}
}

func toProto(doc *sbom.Document) *pluginv1.SBOM {
	out := &pluginv1.SBOM{Target: doc.Target, Packages: make([]*pluginv1.Package, 0, len(doc.Packages))}
	if doc.Image != nil {
		out.ImageDigest = doc.Image.Digest
	}
	if doc.Distro != nil {
		out.Distro = doc.Distro.ID + ":" + doc.Distro.Version
	}
	for i := range doc.Packages {
		p := &doc.Packages[i]
		out.Packages = append(out.Packages, &pluginv1.Package{
			Id: p.ID, Name: p.Name, Version: p.Version, Ecosystem: p.Ecosystem, Purl: p.PURL,
			Cpes: p.CPEs, Licenses: p.Licenses, Layer: p.Layer, Paths: p.Paths, Metadata: p.Metadata,
		})
	}
	return out
}

func checkField(what, v string) error {
	if len(v) > maxField || strings.ContainsAny(v, "\x00") {
		return fmt.Errorf("%s too long or not text", what)
	}
	return nil
}

// apply builds the mutated document: packages kept by id keep what the
// plug-in cannot see (locations, ownership, distro), new ids are added,
// missing ids are removed.
func apply(doc *sbom.Document, res *pluginv1.SBOM) (*sbom.Document, error) {
	if len(res.Packages) > maxPackages {
		return nil, fmt.Errorf("returned %d packages, more than %d", len(res.Packages), maxPackages)
	}
	byID := make(map[string]*sbom.Package, len(doc.Packages))
	for i := range doc.Packages {
		byID[doc.Packages[i].ID] = &doc.Packages[i]
	}
	out := *doc
	out.Packages = make([]sbom.Package, 0, len(res.Packages))
	seen := map[string]bool{}
	for _, q := range res.Packages {
		for what, v := range map[string]string{"package id": q.Id, "name": q.Name, "version": q.Version, "ecosystem": q.Ecosystem, "purl": q.Purl} {
			if err := checkField(what, v); err != nil {
				return nil, err
			}
		}
		if q.Id == "" || q.Name == "" || seen[q.Id] {
			return nil, fmt.Errorf("package %q: empty or repeated id, or no name", q.Id)
		}
		seen[q.Id] = true
		var p sbom.Package
		if old, ok := byID[q.Id]; ok {
			p = *old
		} else {
			p = sbom.Package{ID: q.Id, Layer: q.Layer, Paths: q.Paths}
		}
		p.Name, p.Version, p.Ecosystem, p.PURL = q.Name, q.Version, q.Ecosystem, q.Purl
		p.CPEs, p.Licenses, p.Metadata = q.Cpes, q.Licenses, q.Metadata
		out.Packages = append(out.Packages, p)
	}
	out.Relationships = nil
	for _, r := range doc.Relationships {
		if seen[r.From] && seen[r.To] {
			out.Relationships = append(out.Relationships, r)
		}
	}
	out.Sort()
	return &out, nil
}

var severities = map[string]string{"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "unknown": "UNKNOWN", "": "UNKNOWN"}

// findings turns a provider's answer into findings on doc's packages.
func findings(p *Plugin, doc *sbom.Document, fs []*pluginv1.Finding) ([]match.Finding, error) {
	if len(fs) > maxFindings {
		return nil, fmt.Errorf("returned %d findings, more than %d", len(fs), maxFindings)
	}
	byID := make(map[string]*sbom.Package, len(doc.Packages))
	for i := range doc.Packages {
		byID[doc.Packages[i].ID] = &doc.Packages[i]
	}
	out := make([]match.Finding, 0, len(fs))
	for _, f := range fs {
		for what, v := range map[string]string{"finding id": f.Id, "summary": f.Summary, "url": f.Url} {
			if err := checkField(what, v); err != nil {
				return nil, err
			}
		}
		pkg, ok := byID[f.PackageId]
		if !ok || f.Id == "" {
			return nil, fmt.Errorf("finding %q names no package of the SBOM (%q)", f.Id, f.PackageId)
		}
		label, ok := severities[strings.ToLower(f.Severity)]
		if !ok {
			return nil, fmt.Errorf("finding %s: severity %q", f.Id, f.Severity)
		}
		state := match.StateOpen
		if len(f.FixedVersions) > 0 {
			state = match.StateFixed
		}
		out = append(out, match.Finding{
			ID: f.Id, Aliases: f.Aliases, Summary: f.Summary,
			Package: match.PackageRef{ID: pkg.ID, Name: pkg.Name, Version: pkg.Version, Ecosystem: pkg.Ecosystem, PURL: pkg.PURL,
				SourceName: pkg.SourceName, SourceVersion: pkg.SourceVersion, Layer: pkg.Layer, LayerIndex: pkg.LayerIndex},
			InstalledVersion: pkg.Version, FixedVersions: f.FixedVersions, State: state,
			Matcher: "plugin", Confidence: "high",
			Severity: match.Severity{Label: label, Score: f.CvssScore, Source: "plugin:" + p.Name},
			Evidence: []match.Evidence{{Matcher: "plugin", Advisory: f.Id, RecordID: f.Id, Source: "plugin:" + p.Name, DocURL: f.Url}},
		})
	}
	return out, nil
}
