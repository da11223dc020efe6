package core

import (
	"context"

	"encoding/json"
	"fmt"
	"github.com/stella-scan/stella/internal/report"

	"github.com/stella-scan/stella/internal/store"
)

// Envelope is what the gateway stores in store.Scan.Request: the image
// reference or the uploaded SBOM bytes. Workers rebuild the Request from
// it with RequestOf.
type Envelope struct {
	Image string `json:"image,omitempty"`
	SBOM  []byte `json:"sbom,omitempty"`
}

// Encode returns the envelope as stored.
func (e Envelope) Encode() []byte {
	b, _ := json.Marshal(e) // a string and bytes always marshal
	return b
}

// RequestOf rebuilds the scan request of a stored scan.
func RequestOf(s *store.Scan) (Request, error) {
	var e Envelope
	if err := json.Unmarshal(s.Request, &e); err != nil {
		return Request{}, fmt.Errorf("scan %s: stored request: %w", s.ID, err)
	}
	r := Request{ScanID: s.ID, Tenant: s.Tenant, Image: e.Image, SBOM: e.SBOM}
	if err := r.Validate(); err != nil {
		return Request{}, fmt.Errorf("scan %s: stored request: %w", s.ID, err)
	}
	return r, nil
}

// StoredScan adapts s to the workers' scan function (worker.ScanFunc):
// it rebuilds the request of a stored scan and runs it.
func StoredScan(s Scanner) func(ctx context.Context, sc *store.Scan) (*report.Result, error) {
	return func(ctx context.Context, sc *store.Scan) (*report.Result, error) {
		req, err := RequestOf(sc)
		if err != nil {
			return nil, err
		}
		return s.Scan(ctx, req)
	}
}
