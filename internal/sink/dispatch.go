package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options of a Dispatcher.
type Options struct {
	// Spool is the directory results wait in until their sinks take them.
	Spool string
	// MaxSpoolBytes bounds the spool (default 1 GiB); Submit fails with
	// ErrSpoolFull beyond it.
	MaxSpoolBytes int64
	// MinBackoff and MaxBackoff bound the wait between two attempts of
	// one entry (default 1 s and 5 min).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one delivery (default 60 s).
	Timeout time.Duration
	// Attempts bounds the tries of one sink within one Deliver call
	// (default 3); the spool (Submit) retries without end.
	Attempts int
	// Remember is how long delivered scan ids are kept to drop
	// redeliveries (default 7 days).
	Remember time.Duration
	Logger   *slog.Logger
}

// Dispatcher delivers results to every sink. Submit goes through a disk
// spool (the scanner side); Deliver tries every sink at once (the
// sink-worker side, where the queue holds the result until it is acked).
// Both keep, per sink, an on-disk record of the scan ids it has, so that a
// redelivered result is not sent to a sink twice.
//
// Spool layout, one directory per sink (KIND-N, N counting sinks of one
// kind in the order given):
//
//	SPOOL/KIND-N/SCANID.json        waiting for the sink
//	SPOOL/KIND-N/delivered/SCANID   the sink has it (kept Options.Remember)
//	SPOOL/KIND-N/failed/SCANID.json refused for good (HTTP 4xx, bad token):
//	                                inspect, fix, move back up to retry
type Dispatcher struct {
	sinks []Sink
	dirs  []string
	o     Options
	size  atomic.Int64
	wake  chan struct{}
	mu    sync.Mutex
	retry map[string]retryState // spool entry path -> when to retry
	stats []sinkStats
	full  atomic.Int64 // Submit refusals: spool full
}

type retryState struct {
	attempts int
	next     time.Time
}

type sinkStats struct {
	delivered, failures, refused atomic.Int64
}

// NewDispatcher opens (or creates) the spool: entries left by a previous
// process are delivered by Run.
func NewDispatcher(sinks []Sink, o Options) (*Dispatcher, error) {
	if o.Spool == "" {
		return nil, errors.New("sink dispatcher: a spool directory is required")
	}
	if o.MaxSpoolBytes <= 0 {
		o.MaxSpoolBytes = 1 << 30
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Remember <= 0 {
		o.Remember = 7 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &Dispatcher{sinks: sinks, o: o, wake: make(chan struct{}, 1), retry: map[string]retryState{}, stats: make([]sinkStats, len(sinks))}
	names := map[string]int{}
	for _, s := range sinks {
		names[s.Name()]++
		dir := filepath.Join(o.Spool, fmt.Sprintf("%s-%d", s.Name(), names[s.Name()]))
		for _, sub := range []string{"", "failed", "delivered"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
				return nil, fmt.Errorf("sink spool %s: %w", dir, err)
			}
		}
		d.dirs = append(d.dirs, dir)
		d.size.Add(dirSize(dir))
	}
	d.forget()
	return d, nil
}

func dirSize(dir string) int64 {
	var n int64
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
	}
	return n
}

// forget removes delivered records older than Remember.
func (d *Dispatcher) forget() {
	cut := time.Now().Add(-d.o.Remember)
	for _, dir := range d.dirs {
		dir = filepath.Join(dir, "delivered")
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cut) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

func (d *Dispatcher) delivered(i int, id string) bool {
	_, err := os.Stat(filepath.Join(d.dirs[i], "delivered", id))
	return err == nil
}

// handled says whether sink i has id or refused it for good (it waits
// under failed/ for an operator): a redelivery is not sent to it again.
func (d *Dispatcher) handled(i int, id string) bool {
	if d.delivered(i, id) {
		return true
	}
	_, err := os.Stat(filepath.Join(d.dirs[i], "failed", id+".json"))
	return err == nil
}

func (d *Dispatcher) markDelivered(i int, id string) {
	d.stats[i].delivered.Add(1)
	if err := os.WriteFile(filepath.Join(d.dirs[i], "delivered", id), nil, 0o640); err != nil {
		d.o.Logger.Warn("sink: cannot record a delivery; a redelivery will be sent again", "sink", d.sinks[i].Name(), "scan", id, "err", err)
	}
}

// Submit spools del for every sink that has not delivered it yet, then
// wakes Run. It returns once the result is on disk (an error then means
// the result is not spooled for some sink: ErrSpoolFull, a disk error).
func (d *Dispatcher) Submit(_ context.Context, del Delivery) error {
	if !safeID.MatchString(del.ScanID) {
		return fmt.Errorf("sink: scan id %q cannot be spooled", del.ScanID)
	}
	b, err := json.Marshal(del)
	if err != nil {
		return fmt.Errorf("sink: scan %s: %w", del.ScanID, err)
	}
	for i, dir := range d.dirs {
		if d.handled(i, del.ScanID) {
			continue // a redelivery of a result this sink has (or refused)
		}
		path := filepath.Join(dir, del.ScanID+".json")
		var old int64
		if info, err := os.Stat(path); err == nil {
			old = info.Size() // the same scan again: replaced
		}
		if d.size.Load()-old+int64(len(b)) > d.o.MaxSpoolBytes {
			d.full.Add(1)
			return fmt.Errorf("sink: scan %s for %s: %w (limit %d bytes; deliveries are failing, see the log)", del.ScanID, filepath.Base(dir), ErrSpoolFull, d.o.MaxSpoolBytes)
		}
		if err := writeAtomic(path, b); err != nil {
			return fmt.Errorf("sink: spool scan %s: %w", del.ScanID, err)
		}
		d.size.Add(int64(len(b)) - old)
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// Deliver hands del to every sink that does not have it yet, trying each
// up to Options.Attempts times with backoff, and records each success.
// It returns nil once every sink has the result or has refused it for
// good (the refusal is kept under failed/); otherwise an error naming the
// sinks that failed, and the caller keeps the result (a queue message is
// not acknowledged) and calls again later: the sinks that took it are
// skipped then.
func (d *Dispatcher) Deliver(ctx context.Context, del Delivery) error {
	if !safeID.MatchString(del.ScanID) {
		return Permanent(fmt.Errorf("sink: scan id %q is not a valid id", del.ScanID))
	}
	var errs []error
	for i, s := range d.sinks {
		if d.handled(i, del.ScanID) {
			continue
		}
		var err error
		for a := 0; a < d.o.Attempts; a++ {
			if a > 0 {
				select {
				case <-ctx.Done():
					return errors.Join(append(errs, fmt.Errorf("%s: %w", s.Name(), ctx.Err()))...)
				case <-time.After(d.backoff(a)):
				}
			}
			dctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
			err = s.Deliver(dctx, del)
			cancel()
			if err == nil || isPermanent(err) {
				break
			}
			d.stats[i].failures.Add(1)
		}
		switch {
		case err == nil:
			d.markDelivered(i, del.ScanID)
		case isPermanent(err):
			d.stats[i].refused.Add(1)
			d.o.Logger.Error("sink refused a result for good; kept in failed/", "sink", s.Name(), "scan", del.ScanID, "err", err)
			if b, merr := json.Marshal(del); merr == nil {
				if werr := writeAtomic(filepath.Join(d.dirs[i], "failed", del.ScanID+".json"), b); werr != nil {
					errs = append(errs, fmt.Errorf("%s: keep refused result: %w", s.Name(), werr))
				}
			}
		default:
			d.o.Logger.Warn("sink delivery failed", "sink", s.Name(), "scan", del.ScanID, "attempts", d.o.Attempts, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func isPermanent(err error) bool {
	var perm *PermanentError
	return errors.As(err, &perm)
}

// backoff is the wait before attempt n+1 (n >= 1).
func (d *Dispatcher) backoff(n int) time.Duration {
	wait := d.o.MinBackoff << min(n-1, 20)
	if wait > d.o.MaxBackoff || wait <= 0 {
		wait = d.o.MaxBackoff
	}
	return wait
}

// Run delivers spooled entries until ctx ends: at start, at once after
// Submit, and on a timer (every second, or MinBackoff if shorter) for the
// entries whose retry is due.
func (d *Dispatcher) Run(ctx context.Context) {
	tick := time.NewTicker(min(max(d.o.MinBackoff, 10*time.Millisecond), time.Second))
	defer tick.Stop()
	lastForget := time.Now()
	for {
		d.Flush(ctx)
		if time.Since(lastForget) > time.Hour {
			d.forget()
			lastForget = time.Now()
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// Flush tries every spooled entry that is due, once.
func (d *Dispatcher) Flush(ctx context.Context) {
	for i := range d.sinks {
		es, err := os.ReadDir(d.dirs[i])
		if err != nil {
			d.o.Logger.Error("sink spool unreadable", "dir", d.dirs[i], "err", err)
			continue
		}
		sort.Slice(es, func(a, b int) bool { return es[a].Name() < es[b].Name() })
		for _, e := range es {
			if ctx.Err() != nil {
				return
			}
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
				continue
			}
			d.attempt(ctx, i, name)
		}
	}
}

func (d *Dispatcher) attempt(ctx context.Context, i int, name string) {
	s, dir := d.sinks[i], d.dirs[i]
	key := filepath.Join(dir, name)
	d.mu.Lock()
	st := d.retry[key]
	d.mu.Unlock()
	if time.Now().Before(st.next) {
		return
	}
	b, err := os.ReadFile(key)
	if err != nil {
		return
	}
	var del Delivery
	if err := json.Unmarshal(b, &del); err != nil || !safeID.MatchString(del.ScanID) {
		d.setAside(i, name, int64(len(b)), fmt.Errorf("unreadable spool entry: %v", err))
		return
	}
	if d.delivered(i, del.ScanID) {
		err = nil // delivered, but the process stopped before removing it
	} else {
		dctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
		err = s.Deliver(dctx, del)
		cancel()
		if err == nil {
			d.markDelivered(i, del.ScanID)
		}
	}
	if err == nil {
		if os.Remove(key) == nil {
			d.size.Add(-int64(len(b)))
		}
		d.mu.Lock()
		delete(d.retry, key)
		d.mu.Unlock()
		return
	}
	if isPermanent(err) {
		d.stats[i].refused.Add(1)
		d.setAside(i, name, int64(len(b)), err)
		return
	}
	if ctx.Err() != nil {
		return // shutting down: not the sink's failure
	}
	d.stats[i].failures.Add(1)
	st.attempts++
	wait := d.backoff(st.attempts)
	st.next = time.Now().Add(wait)
	d.mu.Lock()
	d.retry[key] = st
	d.mu.Unlock()
	d.o.Logger.Warn("sink delivery failed; kept in the spool", "sink", s.Name(), "scan", del.ScanID, "attempt", st.attempts, "retry_in", wait, "err", err)
}

// setAside moves an entry a sink refused for good to failed/, where an
// operator can inspect and re-queue it (move it back).
func (d *Dispatcher) setAside(i int, name string, size int64, err error) {
	dir := d.dirs[i]
	d.o.Logger.Error("sink refused a result for good; moved to failed/", "dir", dir, "entry", name, "err", err)
	if os.Rename(filepath.Join(dir, name), filepath.Join(dir, "failed", name)) == nil {
		d.size.Add(-size)
	}
	d.mu.Lock()
	delete(d.retry, filepath.Join(dir, name))
	d.mu.Unlock()
}

// Pending counts the spooled entries not yet delivered (failed/ excluded).
func (d *Dispatcher) Pending() int {
	n := 0
	for _, dir := range d.dirs {
		es, _ := os.ReadDir(dir)
		for _, e := range es {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
				n++
			}
		}
	}
	return n
}

// Stats is a snapshot of a dispatcher's counters (Collector exports them).
type Stats struct {
	SpoolBytes, MaxSpoolBytes int64
	Pending                   int
	SpoolFull                 int64 // results Submit could not spool
	Sinks                     []SinkStats
}

// SinkStats counts one sink's outcomes since the dispatcher started.
type SinkStats struct {
	Sink                         string // KIND-N, as its spool directory
	Delivered, Failures, Refused int64
}

// Stats returns the dispatcher's counters.
func (d *Dispatcher) Stats() Stats {
	st := Stats{SpoolBytes: d.size.Load(), MaxSpoolBytes: d.o.MaxSpoolBytes, Pending: d.Pending(), SpoolFull: d.full.Load()}
	for i := range d.sinks {
		st.Sinks = append(st.Sinks, SinkStats{
			Sink: filepath.Base(d.dirs[i]), Delivered: d.stats[i].delivered.Load(),
			Failures: d.stats[i].failures.Load(), Refused: d.stats[i].refused.Load(),
		})
	}
	return st
}
