// Package core is Stella's scanner core behind one interface, Scanner:
// Local runs the scan pipeline (internal/scan) and the policy in this
// process; Client calls a `stella core` process over gRPC; Serve exposes
// a Scanner as that gRPC service. The gateway and the workers hold a
// Scanner and do not know which one it is.
package core

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/plugin"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom/sbomfile"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/vulndb"
)

// Request is one scan: an image reference or an uploaded SBOM.
type Request struct {
	ScanID string
	Tenant string
	Image  string
	SBOM   []byte
}

// Target is what the request scans, as stored in store.Scan.Target.
func (r Request) Target() string {
	if r.Image != "" {
		return r.Image
	}
	return "sbom:"
}

// Validate checks that exactly one of Image and SBOM is set.
func (r Request) Validate() error {
	switch {
	case r.Image != "" && len(r.SBOM) > 0:
		return &image.InputError{Input: "scan request", Err: errors.New("give an image or an SBOM, not both")}
	case r.Image == "" && len(r.SBOM) == 0:
		return &image.InputError{Input: "scan request", Err: errors.New("give an image reference or an SBOM")}
	}
	return nil
}

// Scanner runs scans. Errors that concern the input (the image or SBOM
// cannot be read) are, or wrap, *image.InputError.
type Scanner interface {
	Scan(ctx context.Context, req Request) (*report.Result, error)
	// Health reports whether the scanner can scan (its DB is open).
	Health(ctx context.Context) error
}

// Local scans in this process.
type Local struct {
	// DB is the open vulnerability database.
	DB *vulndb.DB
	// Options are the SBOM options (cache, limits, analyzers).
	Options scan.Options
	// Policy, when set, decides on every result (verdict and reasons).
	Policy policy.Evaluator
	// Version is Stella's version, recorded in the provenance.
	Version string
	// MaxSBOMSize bounds an uploaded SBOM (default sbomfile.DefaultMaxSize).
	MaxSBOMSize int64
	// Plugins, when set, take part in every scan (mutators, providers) and
	// receive every decided result (result sinks).
	Plugins *plugin.Host
}

var _ Scanner = (*Local)(nil)

// Scan runs the pipeline on req, then the policy.
func (l *Local) Scan(ctx context.Context, req Request) (*report.Result, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	opts := scan.ScanOptions{Options: l.Options, DB: l.DB, StellaVersion: l.Version}
	if l.Plugins != nil {
		opts.Plugins = l.Plugins
	}
	var (
		res *report.Result
		err error
	)
	if req.Image != "" {
		// Only registry references: a client must never make the server
		// read its own files (oci:, dir:, docker-archive:, sbom:).
		if _, perr := name.ParseReference(req.Image); perr != nil {
			return nil, &image.InputError{Input: req.Image, Err: perr}
		}
		res, err = scan.Scan(ctx, "registry:"+req.Image, opts)
	} else {
		doc, derr := sbomfile.DecodeLimit(bytes.NewReader(req.SBOM), "upload", l.MaxSBOMSize)
		if derr != nil {
			return nil, &image.InputError{Input: "uploaded SBOM", Err: derr}
		}
		res, err = scan.ScanDocument(ctx, doc, nil, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("scan %s (%s): %w", req.ScanID, req.Target(), err)
	}
	if l.Policy != nil {
		if err := Decide(ctx, l.Policy, res); err != nil {
			return nil, fmt.Errorf("scan %s: policy: %w", req.ScanID, err)
		}
	}
	if l.Plugins != nil {
		// Result sinks take the decided result; how each delivery ended
		// is recorded in the stored copy's provenance.
		for _, run := range l.Plugins.Deliver(ctx, req.ScanID, req.Tenant, res) {
			for i := range res.Provenance.Plugins {
				if res.Provenance.Plugins[i].File == run.File {
					res.Provenance.Plugins[i] = run
				}
			}
		}
	}
	return res, nil
}

// Health checks that the DB answers.
func (l *Local) Health(ctx context.Context) error {
	if l.DB == nil {
		return scan.ErrNoDB
	}
	if _, err := l.DB.Status(ctx); err != nil {
		return fmt.Errorf("vulnerability DB %s: %w", l.DB.Path(), err)
	}
	return nil
}

// Decide evaluates ev on res and records the verdict and its reasons in
// res.Policy.
func Decide(ctx context.Context, ev policy.Evaluator, res *report.Result) error {
	in := policy.FromResult(res)
	d, err := ev.Evaluate(ctx, &in)
	if err != nil {
		return err
	}
	Record(res, d)
	return nil
}

// Record writes a decision's verdict and reasons into res.Policy.
func Record(res *report.Result, d *policy.Decision) {
	res.Policy = report.Policy{Decision: d.Verdict}
	for _, r := range append(append([]policy.Reason{}, d.Deny...), d.Warn...) {
		res.Policy.Reasons = append(res.Policy.Reasons, r.Level+": "+r.Text())
	}
}

// IsInputError reports whether err concerns the scanned input rather than
// the scanner.
func IsInputError(err error) bool {
	var ie *image.InputError
	return errors.As(err, &ie)
}
