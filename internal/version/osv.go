package version

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Event is one event of an OSV range; exactly one field is set.
type Event struct{ Introduced, Fixed, LastAffected, Limit string }

// InRange evaluates one OSV range (its events, in document order) for version
// v, following the schema's evaluation algorithm
// (https://ossf.github.io/osv-schema/#evaluation): events are sorted by
// version, an introduced "0" sorts before every version, last_affected is
// inclusive, and when limit events exist v must be below one of them (a limit
// containing "*" is infinity).
//
// When v is affected, fixed is the first fixed version above v in the range
// (empty when the range is closed by last_affected or not at all). When v is
// not affected, fixed is the fixed event at or below v that ended its
// vulnerable interval, if any, so that the caller can explain the decision.
// An unparsable version, in v or in an event, is an error that names it.
func InRange(c Comparator, v string, events []Event) (affected bool, fixed string, err error) {
	if len(events) == 0 {
		return false, "", errors.New("osv range has no events")
	}
	k := keyerFor(c)
	vk, err := k.key(v)
	if err != nil {
		return false, "", err
	}
	evs, limits, err := parseEvents(k, events)
	if err != nil {
		return false, "", err
	}

	if len(limits) > 0 && !slices.ContainsFunc(limits, func(l parsedEvent) bool {
		return l.infinite || k.compareKeys(vk, l.key) < 0
	}) {
		return false, "", nil
	}

	// Stable sort: events of equal version keep their document order, which is
	// the publisher's intent (e.g. fixed X then introduced X continues a range).
	slices.SortStableFunc(evs, func(a, b parsedEvent) int {
		switch {
		case a.zero && b.zero:
			return 0
		case a.zero:
			return -1
		case b.zero:
			return 1
		}
		return k.compareKeys(a.key, b.key)
	})

	vulnerable := false
	closedBy := ""
	for _, e := range evs {
		switch e.kind {
		case introduced:
			if e.zero || k.compareKeys(vk, e.key) >= 0 {
				vulnerable = true
			}
		case fixedKind:
			if k.compareKeys(vk, e.key) >= 0 {
				vulnerable = false
				closedBy = e.version
			}
		case lastAffected:
			if k.compareKeys(vk, e.key) > 0 {
				vulnerable = false
				closedBy = ""
			}
		}
	}
	if !vulnerable {
		return false, closedBy, nil
	}
	// The interval holding v ends at the first closing event above v.
	for _, e := range evs {
		switch {
		case e.kind == fixedKind && k.compareKeys(vk, e.key) < 0:
			return true, e.version, nil
		case e.kind == lastAffected && k.compareKeys(vk, e.key) <= 0:
			return true, "", nil
		}
	}
	return true, "", nil
}

type eventKind int

const (
	introduced eventKind = iota
	fixedKind
	lastAffected
	limitKind
)

type parsedEvent struct {
	kind     eventKind
	version  string
	key      any
	zero     bool // introduced "0"
	infinite bool // limit "*"
}

func parseEvents(k keyer, events []Event) (evs, limits []parsedEvent, err error) {
	for i, e := range events {
		pe, err := parseEvent(k, e)
		if err != nil {
			return nil, nil, fmt.Errorf("osv range event %d: %w", i, err)
		}
		if pe.kind == limitKind {
			limits = append(limits, pe)
		} else {
			evs = append(evs, pe)
		}
	}
	return evs, limits, nil
}

func parseEvent(k keyer, e Event) (parsedEvent, error) {
	var pe parsedEvent
	set := 0
	for kind, s := range [...]string{introduced: e.Introduced, fixedKind: e.Fixed, lastAffected: e.LastAffected, limitKind: e.Limit} {
		if s != "" {
			pe.kind, pe.version = eventKind(kind), s
			set++
		}
	}
	if set != 1 {
		return pe, fmt.Errorf("%+v: want exactly one of introduced, fixed, last_affected, limit", e)
	}
	switch {
	case pe.kind == introduced && pe.version == "0":
		pe.zero = true
		return pe, nil
	case pe.kind == limitKind && strings.Contains(pe.version, "*"):
		pe.infinite = true
		return pe, nil
	}
	key, err := k.key(pe.version)
	if err != nil {
		return pe, err
	}
	pe.key = key
	return pe, nil
}
