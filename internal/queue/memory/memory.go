// Package memory is the in-process queue.Queue: jobs live in memory, a
// delivered job is leased to its consumer and handed out again when the
// lease passes without Ack.
package memory

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/stella-scan/stella/internal/queue"
)

// DefaultLease is the lease of New(0).
const DefaultLease = 5 * time.Minute

type entry struct {
	job      queue.Job
	consumer string
	deadline time.Time // zero while pending
}

// Queue is the in-process queue.
type Queue struct {
	lease time.Duration

	mu       sync.Mutex
	next     int
	pending  []*entry          // FIFO
	inflight map[string]*entry // by receipt
	wake     chan struct{}     // closed and replaced on Enqueue
	closed   bool
}

var _ queue.Queue = (*Queue)(nil)

// New returns an empty queue whose deliveries are leased for lease
// (DefaultLease when zero).
func New(lease time.Duration) *Queue {
	if lease <= 0 {
		lease = DefaultLease
	}
	return &Queue{lease: lease, inflight: map[string]*entry{}, wake: make(chan struct{})}
}

// Enqueue implements queue.Queue.
func (q *Queue) Enqueue(ctx context.Context, j queue.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return fmt.Errorf("memory queue: enqueue scan %q: queue closed", j.ScanID)
	}
	q.next++
	j.Receipt = strconv.Itoa(q.next)
	j.Delivery = 0
	q.pending = append(q.pending, &entry{job: j})
	close(q.wake)
	q.wake = make(chan struct{})
	return nil
}

// take returns a job to deliver (an expired lease first, then the oldest
// pending job), the channel to wait on otherwise, and how long until the
// first lease expires.
func (q *Queue) take(consumer string, now time.Time) (*queue.Job, <-chan struct{}, time.Duration, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, nil, 0, fmt.Errorf("memory queue: dequeue for %q: queue closed", consumer)
	}
	var e *entry
	soonest := time.Duration(-1)
	for _, x := range q.inflight {
		if !now.Before(x.deadline) {
			if e == nil || x.deadline.Before(e.deadline) {
				e = x
			}
		} else if d := x.deadline.Sub(now); soonest < 0 || d < soonest {
			soonest = d
		}
	}
	if e == nil && len(q.pending) > 0 {
		e = q.pending[0]
		q.pending = q.pending[1:]
	}
	if e == nil {
		return nil, q.wake, soonest, nil
	}
	e.consumer = consumer
	e.deadline = now.Add(q.lease)
	e.job.Delivery++
	q.inflight[e.job.Receipt] = e
	j := e.job
	return &j, nil, 0, nil
}

// Dequeue implements queue.Queue.
func (q *Queue) Dequeue(ctx context.Context, consumer string, wait time.Duration) (*queue.Job, error) {
	deadline := time.Now().Add(wait)
	for {
		j, wake, soonest, err := q.take(consumer, time.Now())
		if err != nil || j != nil {
			return j, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, nil
		}
		if soonest >= 0 && soonest < left {
			left = soonest
		}
		timer := time.NewTimer(left)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("memory queue: dequeue for %q: %w", consumer, ctx.Err())
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Ack implements queue.Queue. Acking a job that another consumer re-claimed
// acks it for both (the receipt names the job, as a stream entry id does).
func (q *Queue) Ack(ctx context.Context, j *queue.Job) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.inflight, j.Receipt)
	return nil
}

// Len returns how many jobs are pending or in flight.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) + len(q.inflight)
}

// Close implements queue.Queue; blocked and later calls fail.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.wake)
	}
	return nil
}
