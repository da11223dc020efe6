package vulndb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// SyncOptions says what to sync into which file.
type SyncOptions struct {
	Path       string           // the DB file
	Connectors []feed.Connector // sources to fetch, in order
	Source     feed.Source      // template: Mirror, BaseURL (single source only), APIKey, Client, Limits
	Full       bool             // rebuild from scratch, ignore incremental state
	// Progress, when set, is called now and then with the records stored
	// so far for the source being fetched (for a terminal display).
	Progress func(source string, records int)
}

// SourceReport is what one source's sync did.
type SourceReport struct {
	Source   string
	Since    time.Time // zero: full fetch
	Records  int
	Problems []feed.Problem
	Duration time.Duration
}

// SyncReport lists each source's outcome.
type SyncReport struct {
	Sources []SourceReport
}

// Sync fetches every connector into a copy of the DB (or a new one with
// Full) and replaces the DB atomically when all of them succeeded. Any
// error, or ctx being cancelled, leaves the previous DB exactly as it was.
// Documents a connector cannot read are reported in the result and do not
// fail the sync. Two syncs of the same file exclude each other (a lock
// file beside it).
func Sync(ctx context.Context, opts SyncOptions) (*SyncReport, error) {
	unlock, err := lockFile(opts.Path + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	b, err := openBuild(ctx, opts.Path, opts.Full)
	if err != nil {
		return nil, err
	}
	rep := &SyncReport{}
	for _, c := range opts.Connectors {
		sr, err := b.syncOne(ctx, c, opts)
		rep.Sources = append(rep.Sources, sr)
		if err != nil {
			b.abort()
			return rep, fmt.Errorf("source %s: %w (the previous DB is unchanged)", c.Name(), err)
		}
	}
	if err := b.commit(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

func (b *builder) syncOne(ctx context.Context, c feed.Connector, opts SyncOptions) (SourceReport, error) {
	name := c.Name()
	sr := SourceReport{Source: name}
	st, err := b.state(ctx, name)
	if err != nil {
		return sr, err
	}
	src := opts.Source
	if !opts.Full {
		sr.Since = st.LastSync
		src.Validators = feed.NewValidators(st.Validators)
	} else {
		src.Validators = feed.NewValidators(nil)
	}
	var mu sync.Mutex
	src.OnProblem = func(p feed.Problem) {
		mu.Lock()
		sr.Problems = append(sr.Problems, p)
		mu.Unlock()
		if opts.Source.OnProblem != nil {
			opts.Source.OnProblem(p)
		}
	}
	started := time.Now().UTC()
	// Overlap windows by an hour: a record modified while the previous
	// sync ran is fetched again rather than missed.
	since := sr.Since
	if !since.IsZero() {
		since = since.Add(-time.Hour)
	}
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make(chan feed.Record, 256)
	errc := make(chan error, 1)
	go func() {
		defer close(out)
		errc <- c.Fetch(fctx, src, since, out)
	}()
	var putErr error
	last := time.Now()
	for r := range out {
		if putErr != nil {
			continue // drain so that the connector can stop
		}
		if r.Source == "" {
			r.Source = name
		}
		if err := b.put(ctx, &r); err != nil {
			putErr = fmt.Errorf("store %s %s: %w", name, r.ID, err)
			cancel()
			continue
		}
		sr.Records++
		if opts.Progress != nil && time.Since(last) > 200*time.Millisecond {
			opts.Progress(name, sr.Records)
			last = time.Now()
		}
	}
	fetchErr := <-errc
	sr.Duration = time.Since(started)
	if putErr != nil {
		return sr, putErr
	}
	if fetchErr != nil {
		return sr, fetchErr
	}
	if ctx.Err() != nil {
		return sr, ctx.Err()
	}
	origin := opts.Source.BaseURL
	if opts.Source.Mirror != "" {
		origin = opts.Source.Mirror
	}
	if opts.Progress != nil {
		opts.Progress(name, sr.Records)
	}
	slog.InfoContext(ctx, "source synced", "source", name, "records", sr.Records, "problems", len(sr.Problems), "took", sr.Duration)
	return sr, b.saveState(ctx, name, started, sr.Records, len(sr.Problems), src.Validators, origin)
}

// lockFile takes an exclusive advisory lock, failing fast when another
// sync holds it.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(dirOf(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another sync is updating this DB (lock %s held); wait for it to finish", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func dirOf(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			if i == 0 {
				return "/"
			}
			return p[:i]
		}
	}
	return "."
}
