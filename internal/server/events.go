package server

import (
	"github.com/stella-scan/stella/internal/events"
	"github.com/stella-scan/stella/internal/store"
)

// Event kinds on /api/events (see package events).
const (
	EventQueued   = events.Queued
	EventStarted  = events.Started
	EventFinished = events.Finished
	EventFailed   = events.Failed
)

// Event is one change of a scan's state, sent to its tenant's listeners.
type Event = events.Event

// observe counts finished and failed scans from the events this gateway
// sees, whichever process ran them.
func (m *metrics) observeEvent(e events.Event) {
	switch e.Type {
	case events.Finished:
		m.scanFinished(store.StateDone)
	case events.Failed:
		m.scanFinished(store.StateFailed)
	}
}
