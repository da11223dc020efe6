package server

import (
	"context"
	"sync"
	"time"

	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// Event kinds on /api/events.
const (
	EventQueued   = "scan.queued"
	EventStarted  = "scan.started"
	EventFinished = "scan.finished"
	EventFailed   = "scan.failed"
)

// Event is one change of a scan's state, sent to its tenant's listeners.
type Event struct {
	Type    string    `json:"type"`
	ScanID  string    `json:"scanId"`
	Tenant  string    `json:"-"`
	Target  string    `json:"target,omitempty"`
	State   string    `json:"state"`
	Verdict string    `json:"verdict,omitempty"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
}

// hub fans events out to the subscribers of each tenant. A subscriber that
// does not keep up loses events (it can re-read /api/scans) rather than
// slowing the scans down.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	tenant string
	ch     chan Event
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(tenant string) (*subscriber, func()) {
	s := &subscriber{tenant: tenant, ch: make(chan Event, 64)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.mu.Unlock()
	}
}

func (h *hub) publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.tenant != e.Tenant {
			continue
		}
		select {
		case s.ch <- e:
		default:
		}
	}
}

// eventStore is the store the workers of this process use: it publishes
// each state change it persists, whatever loop runs the job.
type eventStore struct {
	store.Store
	hub     *hub
	metrics *metrics
}

func (s *eventStore) UpdateScan(ctx context.Context, sc *store.Scan) error {
	if err := s.Store.UpdateScan(ctx, sc); err != nil {
		return err
	}
	e := Event{ScanID: sc.ID, Tenant: sc.Tenant, Target: sc.Target, State: sc.State, Error: sc.Error}
	switch sc.State {
	case store.StateRunning:
		e.Type = EventStarted
	case store.StateFailed:
		e.Type = EventFailed
		s.metrics.scanFinished(store.StateFailed)
	case store.StateQueued:
		e.Type = EventQueued
	default:
		return nil
	}
	s.hub.publish(e)
	return nil
}

func (s *eventStore) CompleteScan(ctx context.Context, tenant, id string, r *report.Result) error {
	if err := s.Store.CompleteScan(ctx, tenant, id, r); err != nil {
		return err
	}
	s.metrics.scanFinished(store.StateDone)
	s.hub.publish(Event{Type: EventFinished, ScanID: id, Tenant: tenant, Target: r.Target, State: store.StateDone, Verdict: r.Policy.Decision})
	return nil
}
