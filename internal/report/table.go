package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/stella-scan/stella/internal/match"
)

// packageGroup is one package's findings, for the table and HTML.
type packageGroup struct {
	Key      string
	Package  match.PackageRef
	Findings []match.Finding
	Worst    int // best (lowest) severity rank among vulnerable findings
}

// groups returns the findings grouped by package, packages with the most
// severe vulnerable finding first, each package's findings by severity.
func groups(fs []match.Finding) []packageGroup {
	idx := map[string]int{}
	var out []packageGroup
	for _, f := range fs {
		k := f.Package.ID + "\x00" + f.Package.Path
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, packageGroup{Key: k, Package: f.Package, Worst: len(match.SeverityOrder)})
		}
		g := &out[i]
		g.Findings = append(g.Findings, f)
		if f.Vulnerable() {
			g.Worst = min(g.Worst, match.SeverityRank(label(&f)))
		}
	}
	for i := range out {
		sort.SliceStable(out[i].Findings, func(a, b int) bool {
			fa, fb := &out[i].Findings[a], &out[i].Findings[b]
			if fa.Vulnerable() != fb.Vulnerable() {
				return fa.Vulnerable()
			}
			if ra, rb := match.SeverityRank(label(fa)), match.SeverityRank(label(fb)); ra != rb {
				return ra < rb
			}
			return fa.ID < fb.ID
		})
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Worst != out[b].Worst {
			return out[a].Worst < out[b].Worst
		}
		if out[a].Package.Name != out[b].Package.Name {
			return out[a].Package.Name < out[b].Package.Name
		}
		return out[a].Key < out[b].Key
	})
	return out
}

// status is what the table shows in its STATUS column: the distro state
// or the VEX status when a statement applies.
func status(f *match.Finding) string {
	s := f.State
	switch s {
	case match.StateFixed:
		s = "fix available"
	case match.StateOpen:
		s = "no fix yet"
	}
	if f.VEX != nil {
		s += " / vex: " + f.VEX.Status
		if f.VEX.Justification != "" {
			s += " (" + f.VEX.Justification + ")"
		}
	}
	if f.Confidence == match.ConfidenceLow {
		s += " [low confidence: CPE]"
	}
	return s
}

// Table writes a human-readable report: a header, then one block per
// package (most severe first) listing its vulnerabilities with the fixed
// versions.
func Table(w io.Writer, r *Result) error {
	bw := &errWriter{w: w}
	header(bw, r)
	if len(r.Findings) == 0 {
		return bw.err
	}
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PACKAGE\tVERSION\tTYPE\tVULNERABILITY\tSEVERITY\tSTATUS\tFIXED IN\tLAYER\tPATH")
	for _, g := range groups(r.Findings) {
		for i, f := range g.Findings {
			name, ver, typ, layer, path := "", "", "", "", ""
			if i == 0 {
				name, ver, typ, path = g.Package.Name, g.Package.Version, g.Package.Ecosystem, g.Package.Path
				if g.Package.LayerIndex > 0 {
					layer = fmt.Sprint(g.Package.LayerIndex)
				}
			}
			sev := label(&f)
			if f.Severity.Score > 0 {
				sev += fmt.Sprintf(" %.1f", f.Severity.Score)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				cell(name), cell(ver), typ, displayID(&f), sev, status(&f), cell(strings.Join(f.FixedVersions, ", ")), layer, cell(path))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.err
}

// displayID is the finding's id with its ecosystem advisory id when that
// differs (CVE-2021-23337 (GHSA-35jh-r3h4-6jhm)).
func displayID(f *match.Finding) string {
	for _, e := range f.Evidence {
		if e.RecordID != f.ID && e.RecordID != "" {
			return f.ID + " (" + e.RecordID + ")"
		}
	}
	return f.ID
}

func header(w io.Writer, r *Result) {
	fmt.Fprintf(w, "Target:   %s\n", r.Target)
	if r.Image != nil && r.Image.Digest != "" {
		fmt.Fprintf(w, "Image:    %s %s\n", r.Image.Digest, r.Image.Platform)
	}
	if r.SBOM != nil && r.SBOM.Distro != nil {
		fmt.Fprintf(w, "OS:       %s %s\n", r.SBOM.Distro.ID, r.SBOM.Distro.Version)
	}
	db := r.Provenance.DB
	fmt.Fprintf(w, "DB:       %s (built %s, %.0f h old)\n", db.Path, db.BuiltAt.Format("2006-01-02 15:04 MST"), db.AgeHours)
	s := r.Summary
	var parts []string
	for _, l := range match.SeverityOrder {
		parts = append(parts, fmt.Sprintf("%s %d", strings.ToLower(l), s.BySeverity[l]))
	}
	fmt.Fprintf(w, "Packages: %d; vulnerabilities: %d (%s); fixable %d; suppressed by VEX %d\n\n",
		s.Packages, s.Vulnerable, strings.Join(parts, ", "), s.Fixable, s.Suppressed)
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No vulnerabilities found.")
	}
}

// cell keeps a value on one table line.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
