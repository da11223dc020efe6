package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/vulndb"
)

func init() { register(newScanCmd) }

// openDB opens the vulnerability DB, telling how to create it when
// there is none (exit 3).
func openDB(path string) (*vulndb.DB, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, withCode(exitInput, fmt.Errorf("no vulnerability DB at %s.\n"+
			"Create it with `stella db sync --db %s` (add --mirror DIR to build offline from a feed mirror),\n"+
			"or import a signed offline kit with `stella kit import KIT --pub KEY --db %s`;\n"+
			"or point --db / STELLA_DB at an existing DB", path, path, path))
	}
	db, err := vulndb.Open(path)
	if err != nil {
		return nil, withCode(exitInput, err)
	}
	return db, nil
}

func newScanCmd() *cobra.Command {
	var (
		sf            sourceFlags
		format        string
		out           string
		dbPath        string
		severity      string
		ignoreUnfixed bool
		failOn        string
		vexFiles      []string
		explainCache  bool
		policyDirs    []string
		opaURL        string
	)
	cmd := &cobra.Command{
		Use:   "scan TARGET",
		Short: "Find the vulnerabilities of an image, directory or SBOM file",
		Long: `List every package in TARGET and match it against the vulnerability DB.

OS packages are judged by their distro's own advisories, language packages by
OSV/GHSA ranges, Go binaries also by their standard library; NVD CPE matches
fill in only where no other source covers a package. Every finding names the
advisory record, the version compared, the layer and the file.

TARGET is a registry reference, oci:DIR[:TAG], docker-archive:FILE, dir:PATH
or sbom:FILE. Exit codes: 0 ok, 1 --fail-on matched, 2 usage, 3 unreadable
target, DB or document, 4 internal error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !report.ValidFormat(format) {
				return withCode(exitUsage, fmt.Errorf("-f %q: want one of %v", format, report.Formats))
			}
			sevs, bad := report.ParseSeverities(severity)
			if bad != "" {
				return withCode(exitUsage, fmt.Errorf("--severity: unknown severity %q (want critical, high, medium, low, unknown)", bad))
			}
			if failOn != "" {
				if _, bad := report.ParseSeverities(failOn); bad != "" || strings.Contains(failOn, ",") {
					return withCode(exitUsage, fmt.Errorf("--fail-on %q: want one of critical, high, medium, low, unknown", failOn))
				}
			}
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			db, err := openDB(dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			opts, err := sf.options(cmd)
			if err != nil {
				return err
			}
			res, err := scan.Scan(cmd.Context(), args[0], scan.ScanOptions{
				Options: opts, DB: db, VEX: vexFiles, StellaVersion: version,
				Filter: report.Filter{Severities: sevs, IgnoreUnfixed: ignoreUnfixed},
			})
			if err != nil {
				return classify(err)
			}
			if explainCache {
				explain(cmd.ErrOrStderr(), res)
			}
			var verdict *policy.Decision
			if len(policyDirs) > 0 || opaURL != "" {
				if verdict, err = decide(cmd, res, policyDirs, opaURL); err != nil {
					return err
				}
			}
			if err := writeOutput(cmd, out, func(w io.Writer) error { return report.Write(w, res, format, report.Options{}) }); err != nil {
				return err
			}
			if verdict != nil && verdict.Verdict == "fail" {
				return withCode(exitFail, fmt.Errorf("policy: fail (%d deny reasons; first: %s)", len(verdict.Deny), firstReason(verdict)))
			}
			if failOn != "" {
				if hits := res.FailsOn(failOn); len(hits) > 0 {
					return withCode(exitFail, fmt.Errorf("%d vulnerabilities at or above %s (first: %s in %s %s)",
						len(hits), strings.ToUpper(failOn), hits[0].ID, hits[0].Package.Name, hits[0].InstalledVersion))
				}
			}
			return nil
		},
	}
	sf.add(cmd.Flags())
	f := cmd.Flags()
	f.StringVarP(&format, "format", "f", "table", fmt.Sprintf("output format: %v", report.Formats))
	f.StringVarP(&out, "output", "o", "", "write to FILE (atomically) instead of stdout")
	f.StringVar(&dbPath, "db", "", "vulnerability DB (default $STELLA_DB, $STELLA_DATA/db/stella.db or $XDG_DATA_HOME/stella/db/stella.db)")
	f.StringVar(&severity, "severity", "", "only report these severities (comma-separated: critical,high,medium,low,unknown)")
	f.BoolVar(&ignoreUnfixed, "ignore-unfixed", false, "leave out vulnerabilities without a fixed version")
	f.StringVar(&failOn, "fail-on", "", "exit 1 when a vulnerability at or above this severity remains")
	f.StringArrayVar(&vexFiles, "vex", nil, "OpenVEX, CycloneDX VEX or CSAF VEX document to apply (repeatable)")
	f.StringArrayVar(&policyDirs, "policy", nil, "organisation policy directory (*.rego, JSON/YAML data), evaluated with the default bundle; repeatable")
	f.StringVar(&opaURL, "opa-url", "", "take the decision from an external OPA server (sidecar) loaded with `stella policy bundle`")
	f.BoolVar(&explainCache, "explain-cache", false, "print each layer's cache status, bytes downloaded and time on stderr")
	return cmd
}

// decide evaluates the policy (in-process, or on an OPA server) and
// records the verdict in the result.
func decide(cmd *cobra.Command, res *scan.Result, dirs []string, opaURL string) (*policy.Decision, error) {
	ev, err := evaluator(cmd, dirs, opaURL, 0)
	if err != nil {
		return nil, err
	}
	in := policy.FromResult(res)
	d, err := ev.Evaluate(cmd.Context(), &in)
	if err != nil {
		return nil, withCode(exitInternal, err)
	}
	core.Record(res, d)
	return d, nil
}

func firstReason(d *policy.Decision) string {
	if len(d.Deny) == 0 {
		return "-"
	}
	return d.Deny[0].Text()
}

// explain prints where the SBOM came from per layer: cache hit or miss,
// bytes downloaded and walked, time.
func explain(w io.Writer, r *scan.Result) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SBOM source: %s", r.Provenance.SBOMSource)
	if r.Image != nil && r.Image.Cached {
		fmt.Fprint(tw, " (whole image from cache)")
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "LAYER\tDIFFID\tCACHE\tDOWNLOADED\tWALKED\tFILES\tTIME")
	if r.Image != nil {
		for _, l := range r.Image.Layers {
			id := l.DiffID
			if len(id) > 19 {
				id = id[:19]
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d B\t%d B\t%d\t%.1f ms\n", l.Index, id, l.Cache, l.Downloaded, l.Bytes, l.Files, l.DurationMS)
		}
	}
	t := r.Timing
	fmt.Fprintf(tw, "phases: open %.1f ms, analyze %.1f ms, assemble %.1f ms, match %.1f ms, total %.1f ms\n", t.OpenMS, t.AnalyzeMS, t.AssembleMS, t.MatchMS, t.TotalMS)
	tw.Flush()
}
