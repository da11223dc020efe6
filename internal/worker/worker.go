// Package worker runs scan jobs: it takes a job from the queue, marks the
// scan running (counting the attempt), scans, stores the result through
// store.CompleteScan (idempotent by scan id) and acknowledges the job.
// A worker that dies mid-scan leaves its job unacknowledged; the queue
// hands it to another worker after the lease, and the scan is stored once.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// MaxAttempts is how many times a scan is tried before it is failed.
const MaxAttempts = 3

// ScanFunc runs one scan.
type ScanFunc func(ctx context.Context, s *store.Scan) (*report.Result, error)

// poll bounds one Dequeue so that Run notices ctx regularly.
const poll = time.Second

// Run takes jobs for consumer until ctx ends (then it returns nil) or the
// store or queue fails.
func Run(ctx context.Context, st store.Store, q queue.Queue, consumer string, scan ScanFunc) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		j, err := q.Dequeue(ctx, consumer, poll)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("worker %s: dequeue: %w", consumer, err)
		}
		if j == nil {
			continue
		}
		if err := Handle(ctx, st, q, j, scan); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("worker %s: %w", consumer, err)
		}
	}
}

// Handle runs one delivered job. When ctx ends during the scan the job is
// left unacknowledged, to be re-claimed after its lease.
func Handle(ctx context.Context, st store.Store, q queue.Queue, j *queue.Job, scan ScanFunc) error {
	s, err := st.GetScan(ctx, j.Tenant, j.ScanID)
	if errors.Is(err, store.ErrNotFound) {
		slog.Warn("worker: job for an unknown scan, dropped", "scan", j.ScanID, "tenant", j.Tenant)
		return ack(ctx, q, j)
	}
	if err != nil {
		return fmt.Errorf("job %s: %w", j.ScanID, err)
	}
	if s.State == store.StateDone || s.State == store.StateFailed {
		return ack(ctx, q, j) // a re-delivery of a finished job
	}
	s.Attempts++
	if s.Attempts > MaxAttempts {
		// Workers died on it MaxAttempts times already.
		s.State = store.StateFailed
		if s.Error == "" {
			s.Error = "worker lost"
		}
		s.Error = fmt.Sprintf("gave up after %d attempts: %s", MaxAttempts, s.Error)
		s.Attempts = MaxAttempts
		if err := st.UpdateScan(ctx, s); err != nil {
			return fmt.Errorf("job %s: mark failed: %w", j.ScanID, err)
		}
		return ack(ctx, q, j)
	}
	s.State = store.StateRunning
	if err := st.UpdateScan(ctx, s); err != nil {
		return fmt.Errorf("job %s: mark running: %w", j.ScanID, err)
	}
	res, err := safeScan(ctx, scan, s)
	if ctx.Err() != nil {
		return nil // shutting down: the job is re-claimed after its lease
	}
	if err != nil {
		s.Error = err.Error()
		if s.Attempts >= MaxAttempts {
			s.State = store.StateFailed
			if err := st.UpdateScan(ctx, s); err != nil {
				return fmt.Errorf("job %s: mark failed: %w", j.ScanID, err)
			}
			return ack(ctx, q, j)
		}
		s.State = store.StateQueued
		if err := st.UpdateScan(ctx, s); err != nil {
			return fmt.Errorf("job %s: requeue: %w", j.ScanID, err)
		}
		if err := q.Enqueue(ctx, queue.Job{ScanID: j.ScanID, Tenant: j.Tenant}); err != nil {
			return fmt.Errorf("job %s: requeue: %w", j.ScanID, err)
		}
		return ack(ctx, q, j)
	}
	if err := st.CompleteScan(ctx, j.Tenant, j.ScanID, res); err != nil {
		return fmt.Errorf("job %s: store result: %w", j.ScanID, err)
	}
	return ack(ctx, q, j)
}

func safeScan(ctx context.Context, scan ScanFunc, s *store.Scan) (res *report.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("scan %s of %s panicked: %v", s.ID, s.Target, p)
		}
	}()
	res, err = scan(ctx, s)
	if err == nil && res == nil {
		err = fmt.Errorf("scan %s of %s returned no result", s.ID, s.Target)
	}
	return res, err
}

func ack(ctx context.Context, q queue.Queue, j *queue.Job) error {
	if err := q.Ack(ctx, j); err != nil {
		return fmt.Errorf("job %s: ack: %w", j.ScanID, err)
	}
	return nil
}
