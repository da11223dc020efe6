// Package queuetest is the contract every queue.Queue satisfies; each
// implementation's test calls Run.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/queue"
)

// Open returns a fresh, empty queue whose deliveries are leased for lease.
type Open func(t *testing.T, lease time.Duration) queue.Queue

// Run runs the contract suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"FIFO", testFIFO},
		{"EmptyWaits", testEmptyWaits},
		{"BlockedDequeueWakes", testWakes},
		{"RedeliveryAfterLease", testRedelivery},
		{"AckedNotRedelivered", testAcked},
		{"ContextCancel", testCancel},
		{"ConcurrentConsumers", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func mustOpen(t *testing.T, open Open, lease time.Duration) queue.Queue {
	q := open(t, lease)
	t.Cleanup(func() { q.Close() })
	return q
}

func deq(t *testing.T, q queue.Queue, consumer string, wait time.Duration) *queue.Job {
	t.Helper()
	j, err := q.Dequeue(t.Context(), consumer, wait)
	if err != nil {
		t.Fatalf("Dequeue(%s): %v", consumer, err)
	}
	return j
}

func testFIFO(t *testing.T, open Open) {
	q := mustOpen(t, open, time.Minute)
	for i := range 3 {
		if err := q.Enqueue(t.Context(), queue.Job{ScanID: fmt.Sprint("s", i), Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		j := deq(t, q, "w1", time.Second)
		if j == nil || j.ScanID != fmt.Sprint("s", i) || j.Tenant != "acme" || j.Delivery != 1 || j.Receipt == "" {
			t.Fatalf("job %d = %+v", i, j)
		}
		if err := q.Ack(t.Context(), j); err != nil {
			t.Fatal(err)
		}
	}
}

func testEmptyWaits(t *testing.T, open Open) {
	q := mustOpen(t, open, time.Minute)
	start := time.Now()
	if j := deq(t, q, "w1", 150*time.Millisecond); j != nil {
		t.Fatalf("empty queue gave %+v", j)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Fatalf("empty Dequeue with wait 150ms returned after %v", d)
	}
}

func testWakes(t *testing.T, open Open) {
	q := mustOpen(t, open, time.Minute)
	go func() {
		time.Sleep(100 * time.Millisecond)
		q.Enqueue(context.Background(), queue.Job{ScanID: "late", Tenant: "acme"})
	}()
	start := time.Now()
	j := deq(t, q, "w1", 5*time.Second)
	if j == nil || j.ScanID != "late" {
		t.Fatalf("Dequeue = %+v, want the job enqueued while blocked", j)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("blocked Dequeue took %v to see a new job", d)
	}
}

func testRedelivery(t *testing.T, open Open) {
	lease := 300 * time.Millisecond
	q := mustOpen(t, open, lease)
	if err := q.Enqueue(t.Context(), queue.Job{ScanID: "s1", Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	taken := time.Now() // the lease starts during the Dequeue below
	first := deq(t, q, "dead-worker", time.Second)
	if first == nil {
		t.Fatal("no job")
	}
	// Within the lease nobody else gets it.
	if j := deq(t, q, "w2", lease/3); j != nil {
		t.Fatalf("job handed out again within its lease: %+v", j)
	}
	second := deq(t, q, "w2", 5*time.Second)
	if second == nil || second.ScanID != "s1" || second.Tenant != "acme" {
		t.Fatalf("re-claimed job = %+v", second)
	}
	// Redis measures idle time in whole milliseconds of a cached clock.
	if d := time.Since(taken); d < lease-10*time.Millisecond {
		t.Fatalf("re-claimed after %v, before the lease %v", d, lease)
	}
	if second.Delivery != 2 {
		t.Fatalf("Delivery = %d, want 2", second.Delivery)
	}
	if err := q.Ack(t.Context(), second); err != nil {
		t.Fatal(err)
	}
	if j := deq(t, q, "w3", 2*lease); j != nil {
		t.Fatalf("acked job delivered again: %+v", j)
	}
}

func testAcked(t *testing.T, open Open) {
	lease := 100 * time.Millisecond
	q := mustOpen(t, open, lease)
	q.Enqueue(t.Context(), queue.Job{ScanID: "a", Tenant: "acme"})
	q.Enqueue(t.Context(), queue.Job{ScanID: "b", Tenant: "acme"})
	a := deq(t, q, "w1", time.Second)
	b := deq(t, q, "w1", time.Second)
	if a == nil || b == nil || a.ScanID != "a" || b.ScanID != "b" {
		t.Fatalf("jobs = %+v %+v", a, b)
	}
	if err := q.Ack(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * lease)
	j := deq(t, q, "w2", time.Second)
	if j == nil || j.ScanID != "b" {
		t.Fatalf("after lease got %+v, want only the unacked b", j)
	}
	q.Ack(t.Context(), j)
	if j := deq(t, q, "w2", 3*lease); j != nil {
		t.Fatalf("got %+v after every job was acked", j)
	}
}

func testCancel(t *testing.T, open Open) {
	q := mustOpen(t, open, time.Minute)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	j, err := q.Dequeue(ctx, "w1", time.Minute)
	if j != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dequeue with ended ctx = %+v, %v; want context.DeadlineExceeded", j, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Dequeue noticed the ended ctx after %v", d)
	}
}

func testConcurrent(t *testing.T, open Open) {
	q := mustOpen(t, open, time.Minute)
	const jobs, workers = 60, 4
	for i := range jobs {
		if err := q.Enqueue(t.Context(), queue.Job{ScanID: fmt.Sprint("s", i), Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	got := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				j, err := q.Dequeue(t.Context(), fmt.Sprint("w", w), 200*time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				if j == nil {
					return
				}
				mu.Lock()
				got[j.ScanID]++
				mu.Unlock()
				if err := q.Ack(t.Context(), j); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(got) != jobs {
		t.Fatalf("%d distinct jobs delivered, want %d", len(got), jobs)
	}
	for id, n := range got {
		if n != 1 {
			t.Fatalf("job %s delivered %d times", id, n)
		}
	}
}
