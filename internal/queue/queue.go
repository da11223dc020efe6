// Package queue carries scan jobs from the gateway to workers: in-process
// by default, Redis Streams consumer groups when Redis is configured, so
// that several `stella worker` processes on several machines share the
// work. Delivery is at-least-once; a job whose worker dies is re-claimed
// after its lease, and the store makes completion idempotent by scan id.
package queue

import (
	"context"
	"time"
)

// Job names one scan to run.
type Job struct {
	ScanID string `json:"scanId"`
	Tenant string `json:"tenant"`
	// Delivery is set by the queue: how many times this job was handed out.
	Delivery int `json:"-"`
	// ack identifies the delivery for Ack (a stream entry id, say).
	Receipt string `json:"-"`
}

// Queue is the job transport.
type Queue interface {
	// Enqueue adds a job; it is durable when it returns (for Redis).
	Enqueue(ctx context.Context, j Job) error
	// Dequeue blocks until a job is available for consumer, ctx ends, or
	// wait passes (then it returns nil, nil). Jobs whose previous consumer
	// held them longer than the lease without Ack are handed out again.
	Dequeue(ctx context.Context, consumer string, wait time.Duration) (*Job, error)
	// Ack marks a delivered job done.
	Ack(ctx context.Context, j *Job) error
	Close() error
}
