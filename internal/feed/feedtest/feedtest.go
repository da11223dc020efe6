// Package feedtest runs a connector in tests and gathers what it sends.
package feedtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Collect runs c.Fetch on src (bounded to 30 s) and returns its records by
// id and the problems it reported; a record sent twice or a Fetch error
// fails the test.
func Collect(t testing.TB, c feed.Connector, src feed.Source, since time.Time) (map[string]feed.Record, []feed.Problem) {
	t.Helper()
	var (
		mu       sync.Mutex
		problems []feed.Problem
	)
	src.OnProblem = func(p feed.Problem) { mu.Lock(); problems = append(problems, p); mu.Unlock() }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan feed.Record, 64)
	errc := make(chan error, 1)
	go func() { errc <- c.Fetch(ctx, src, since, out); close(out) }()
	recs := map[string]feed.Record{}
	for r := range out {
		if _, dup := recs[r.ID]; dup {
			t.Errorf("record %s sent twice", r.ID)
		}
		recs[r.ID] = r
	}
	if err := <-errc; err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return recs, problems
}
