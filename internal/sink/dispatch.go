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
	// Remember is how long delivered scan ids are kept to drop
	// redeliveries (default 7 days).
	Remember time.Duration
	Logger   *slog.Logger
}

// Dispatcher delivers results to every sink through a disk spool.
type Dispatcher struct {
	sinks []Sink
	dirs  []string
	o     Options
	size  atomic.Int64
	wake  chan struct{}
	mu    sync.Mutex
	retry map[string]retryState // sink dir + scan id
}

type retryState struct {
	attempts int
	next     time.Time
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
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.Remember <= 0 {
		o.Remember = 7 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	d := &Dispatcher{sinks: sinks, o: o, wake: make(chan struct{}, 1), retry: map[string]retryState{}}
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
		d.forget(filepath.Join(dir, "delivered"))
	}
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

// forget removes delivered markers older than Remember.
func (d *Dispatcher) forget(dir string) {
	es, _ := os.ReadDir(dir)
	cut := time.Now().Add(-d.o.Remember)
	for _, e := range es {
		if info, err := e.Info(); err == nil && info.ModTime().Before(cut) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Submit spools del for every sink that has not delivered it yet, then
// wakes Run. It returns once the result is on disk.
func (d *Dispatcher) Submit(_ context.Context, del Delivery) error {
	if !safeID.MatchString(del.ScanID) {
		return fmt.Errorf("sink: scan id %q cannot be spooled", del.ScanID)
	}
	b, err := json.Marshal(del)
	if err != nil {
		return fmt.Errorf("sink: scan %s: %w", del.ScanID, err)
	}
	for _, dir := range d.dirs {
		if _, err := os.Stat(filepath.Join(dir, "delivered", del.ScanID)); err == nil {
			continue // a redelivery of a result this sink has
		}
		if d.size.Load()+int64(len(b)) > d.o.MaxSpoolBytes {
			return fmt.Errorf("sink: scan %s for %s: %w (%d bytes; deliveries are failing, see the log)", del.ScanID, filepath.Base(dir), ErrSpoolFull, d.o.MaxSpoolBytes)
		}
		if err := writeAtomic(filepath.Join(dir, del.ScanID+".json"), b); err != nil {
			return fmt.Errorf("sink: spool scan %s: %w", del.ScanID, err)
		}
		d.size.Add(int64(len(b)))
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return nil
}

// Run delivers spooled entries until ctx ends: at once after Submit,
// and every second for the entries waiting for a retry.
func (d *Dispatcher) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		d.Flush(ctx)
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
	for i, s := range d.sinks {
		dir := d.dirs[i]
		es, err := os.ReadDir(dir)
		if err != nil {
			d.o.Logger.Error("sink spool unreadable", "dir", dir, "err", err)
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
			d.attempt(ctx, s, dir, name)
		}
	}
}

func (d *Dispatcher) attempt(ctx context.Context, s Sink, dir, name string) {
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
	if err := json.Unmarshal(b, &del); err != nil {
		d.setAside(dir, name, int64(len(b)), fmt.Errorf("unreadable spool entry: %w", err))
		return
	}
	dctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	err = s.Deliver(dctx, del)
	cancel()
	if err == nil {
		os.WriteFile(filepath.Join(dir, "delivered", del.ScanID), nil, 0o640)
		if os.Remove(key) == nil {
			d.size.Add(-int64(len(b)))
		}
		d.mu.Lock()
		delete(d.retry, key)
		d.mu.Unlock()
		return
	}
	var perm *PermanentError
	if errors.As(err, &perm) {
		d.setAside(dir, name, int64(len(b)), err)
		return
	}
	st.attempts++
	wait := d.o.MinBackoff << min(st.attempts-1, 20)
	if wait > d.o.MaxBackoff || wait <= 0 {
		wait = d.o.MaxBackoff
	}
	st.next = time.Now().Add(wait)
	d.mu.Lock()
	d.retry[key] = st
	d.mu.Unlock()
	d.o.Logger.Warn("sink delivery failed; kept in the spool", "sink", s.Name(), "scan", del.ScanID, "attempt", st.attempts, "retry_in", wait, "err", err)
}

// setAside moves an entry a sink refused for good to failed/, where an
// operator can inspect and re-queue it (move it back).
func (d *Dispatcher) setAside(dir, name string, size int64, err error) {
	d.o.Logger.Error("sink refused a result for good; moved to failed/", "dir", dir, "entry", name, "err", err)
	if os.Rename(filepath.Join(dir, name), filepath.Join(dir, "failed", name)) == nil {
		d.size.Add(-size)
	}
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
