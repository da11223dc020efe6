package sink

import (
	"context"
	"log/slog"

	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// Store wraps a store.Store so that every completed scan is handed to the
// dispatcher once its result is stored. A result that cannot be spooled
// (the spool is full) is logged; the scan itself stays done.
type Store struct {
	store.Store
	D *Dispatcher
}

// CompleteScan stores the result, then submits it to the sinks.
func (s *Store) CompleteScan(ctx context.Context, tenant, id string, r *report.Result) error {
	if err := s.Store.CompleteScan(ctx, tenant, id, r); err != nil {
		return err
	}
	if err := s.D.Submit(ctx, Delivery{ScanID: id, Tenant: tenant, Result: r}); err != nil {
		slog.Error("result not handed to the sinks", "scan", id, "err", err)
	}
	return nil
}
