// Package events carries scan state changes (queued, started, finished,
// failed) from whoever runs a scan to the gateways that stream them on
// /api/events. In one process a Hub fans them out; across processes
// (`stella worker` on other machines) they travel over Redis pub/sub and a
// Relay feeds them into each gateway's Hub.
package events

import (
	"context"
	"sync"
	"time"

	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// Event kinds.
const (
	Queued   = "scan.queued"
	Started  = "scan.started"
	Finished = "scan.finished"
	Failed   = "scan.failed"
)

// Event is one change of a scan's state. A client only ever receives its
// own tenant's events.
type Event struct {
	Type    string    `json:"type"`
	ScanID  string    `json:"scanId"`
	Tenant  string    `json:"tenant,omitempty"`
	Target  string    `json:"target,omitempty"`
	State   string    `json:"state"`
	Verdict string    `json:"verdict,omitempty"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

// Publisher sends events on. Publish never blocks on slow listeners and
// never fails a scan: a lost event costs a client a re-read of /api/scans.
type Publisher interface {
	Publish(ctx context.Context, e Event)
}

// All subscribes to every tenant's events (metrics, relays).
const All = "*"

// Hub fans events out to this process's subscribers of each tenant. A
// subscriber that does not keep up loses events rather than slowing the
// scans down.
type Hub struct {
	mu       sync.Mutex
	subs     map[*sub]struct{}
	observer []func(Event)
}

// Observe calls f, synchronously, for every event published to h from now
// on (metrics); f must be quick.
func (h *Hub) Observe(f func(Event)) {
	h.mu.Lock()
	h.observer = append(h.observer, f)
	h.mu.Unlock()
}

type sub struct {
	tenant string
	ch     chan Event
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[*sub]struct{}{}} }

// Subscribe returns the channel of tenant's events (All: everyone's) and
// the function that ends the subscription.
func (h *Hub) Subscribe(tenant string) (<-chan Event, func()) {
	s := &sub{tenant: tenant, ch: make(chan Event, 64)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs, s)
			h.mu.Unlock()
		})
	}
}

// Publish delivers e to the subscribers of its tenant.
func (h *Hub) Publish(_ context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.observer {
		f(e)
	}
	for s := range h.subs {
		if s.tenant != e.Tenant && s.tenant != All {
			continue
		}
		select {
		case s.ch <- e:
		default:
		}
	}
}

// Store wraps a store.Store so that each state change it persists is
// published, whatever loop runs the job.
type Store struct {
	store.Store
	Pub Publisher
}

// UpdateScan persists the change, then publishes it.
func (s *Store) UpdateScan(ctx context.Context, sc *store.Scan) error {
	if err := s.Store.UpdateScan(ctx, sc); err != nil {
		return err
	}
	e := Event{ScanID: sc.ID, Tenant: sc.Tenant, Target: sc.Target, State: sc.State, Error: sc.Error}
	switch sc.State {
	case store.StateRunning:
		e.Type = Started
	case store.StateFailed:
		e.Type = Failed
	case store.StateQueued:
		e.Type = Queued
	default:
		return nil
	}
	s.Pub.Publish(ctx, e)
	return nil
}

// CompleteScan persists the result, then publishes it.
func (s *Store) CompleteScan(ctx context.Context, tenant, id string, r *report.Result) error {
	if err := s.Store.CompleteScan(ctx, tenant, id, r); err != nil {
		return err
	}
	e := Event{Type: Finished, ScanID: id, Tenant: tenant, State: store.StateDone}
	if r != nil {
		e.Target, e.Verdict = r.Target, r.Policy.Decision
	}
	s.Pub.Publish(ctx, e)
	return nil
}
