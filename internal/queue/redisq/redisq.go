// Package redisq is the queue.Queue on Redis Streams: jobs are stream
// entries (XADD), workers are consumers of one consumer group
// (XREADGROUP), Ack is XACK (and XDEL, so the stream stays short), and a
// job left unacknowledged longer than the lease is re-claimed by the next
// Dequeue of any consumer (XAUTOCLAIM). Requires Redis 6.2 or later.
package redisq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stella-scan/stella/internal/queue"
)

// Defaults of Options.
const (
	DefaultStream = "stella:jobs"
	DefaultGroup  = "stella-workers"
	DefaultLease  = 5 * time.Minute
)

// Options configure a Queue; zero values take the defaults.
type Options struct {
	Stream string
	Group  string
	// Lease is how long a delivered job may stay unacknowledged before
	// another consumer re-claims it. It must exceed the longest scan.
	Lease time.Duration
	// Poll bounds one blocking read, so that expired leases and ctx are
	// noticed (default: lease/4, between 10ms and 1s).
	Poll time.Duration
}

// Queue is a Redis Streams queue.
type Queue struct {
	rdb   *redis.Client
	url   string
	opt   Options
	owned bool
}

var _ queue.Queue = (*Queue)(nil)

// Open connects to the redis:// URL and creates the stream and consumer
// group if they do not exist.
func Open(ctx context.Context, url string, o Options) (*Queue, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis queue: parse url %q: %w", redactURL(url), err)
	}
	q, err := New(ctx, redis.NewClient(ro), o)
	if err != nil {
		return nil, fmt.Errorf("redis queue %s: %w", redactURL(url), err)
	}
	q.url, q.owned = redactURL(url), true
	return q, nil
}

// New uses an existing client (not closed by Close).
func New(ctx context.Context, rdb *redis.Client, o Options) (*Queue, error) {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.Group == "" {
		o.Group = DefaultGroup
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Poll <= 0 {
		o.Poll = min(max(o.Lease/4, 10*time.Millisecond), time.Second)
	}
	q := &Queue{rdb: rdb, opt: o}
	// Start at 0 so jobs added before the group existed are delivered.
	err := rdb.XGroupCreateMkStream(ctx, o.Stream, o.Group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return nil, fmt.Errorf("create group %q on stream %q: %w", o.Group, o.Stream, err)
	}
	return q, nil
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "***" + u[i:]
		}
	}
	return u
}

// Enqueue implements queue.Queue: XADD, durable as far as Redis
// persistence is configured.
func (q *Queue) Enqueue(ctx context.Context, j queue.Job) error {
	err := q.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: q.opt.Stream,
		Values: []any{"scanId", j.ScanID, "tenant", j.Tenant},
	}).Err()
	if err != nil {
		return fmt.Errorf("redis queue: enqueue scan %q of tenant %q on %q: %w", j.ScanID, j.Tenant, q.opt.Stream, err)
	}
	return nil
}

func jobOf(m redis.XMessage) (*queue.Job, bool) {
	id, _ := m.Values["scanId"].(string)
	tenant, _ := m.Values["tenant"].(string)
	if id == "" {
		return nil, false
	}
	return &queue.Job{ScanID: id, Tenant: tenant, Receipt: m.ID, Delivery: 1}, true
}

// claim re-claims one job whose lease passed.
func (q *Queue) claim(ctx context.Context, consumer string) (*queue.Job, error) {
	start := "0-0"
	for {
		msgs, next, err := q.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: q.opt.Stream, Group: q.opt.Group, Consumer: consumer,
			MinIdle: q.opt.Lease, Start: start, Count: 1,
		}).Result()
		if err != nil {
			return nil, fmt.Errorf("redis queue: autoclaim on %q for %q: %w", q.opt.Stream, consumer, err)
		}
		for _, m := range msgs {
			j, ok := jobOf(m)
			if !ok { // entry deleted or malformed: drop it
				q.rdb.XAck(ctx, q.opt.Stream, q.opt.Group, m.ID)
				continue
			}
			p, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
				Stream: q.opt.Stream, Group: q.opt.Group, Start: m.ID, End: m.ID, Count: 1,
			}).Result()
			if err != nil {
				return nil, fmt.Errorf("redis queue: pending entry %s on %q: %w", m.ID, q.opt.Stream, err)
			}
			if len(p) == 1 {
				j.Delivery = int(p[0].RetryCount)
			}
			return j, nil
		}
		if next == "0-0" || next == "" {
			return nil, nil
		}
		start = next
	}
}

// Dequeue implements queue.Queue: an expired lease first (XAUTOCLAIM),
// then a new entry (XREADGROUP >), blocking in slices of Poll.
func (q *Queue) Dequeue(ctx context.Context, consumer string, wait time.Duration) (*queue.Job, error) {
	deadline := time.Now().Add(wait)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("redis queue: dequeue for %q: %w", consumer, err)
		}
		j, err := q.claim(ctx, consumer)
		if err != nil || j != nil {
			return j, err
		}
		left := time.Until(deadline)
		block := min(left, q.opt.Poll)
		if block <= 0 {
			block = -1 // no BLOCK: just look
		} else if block < time.Millisecond {
			block = time.Millisecond
		}
		res, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: q.opt.Group, Consumer: consumer, Streams: []string{q.opt.Stream, ">"}, Count: 1, Block: block,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("redis queue: dequeue for %q: %w", consumer, ctx.Err())
			}
			return nil, fmt.Errorf("redis queue: read group %q on %q for %q: %w", q.opt.Group, q.opt.Stream, consumer, err)
		default:
			for _, s := range res {
				for _, m := range s.Messages {
					if j, ok := jobOf(m); ok {
						return j, nil
					}
					q.rdb.XAck(ctx, q.opt.Stream, q.opt.Group, m.ID)
				}
			}
		}
		if time.Until(deadline) <= 0 {
			return nil, nil
		}
	}
}

// Ack implements queue.Queue: XACK and XDEL of the entry.
func (q *Queue) Ack(ctx context.Context, j *queue.Job) error {
	_, err := q.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.XAck(ctx, q.opt.Stream, q.opt.Group, j.Receipt)
		p.XDel(ctx, q.opt.Stream, j.Receipt)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis queue: ack scan %q (entry %s) on %q: %w", j.ScanID, j.Receipt, q.opt.Stream, err)
	}
	return nil
}

// Close implements queue.Queue.
func (q *Queue) Close() error {
	if !q.owned {
		return nil
	}
	if err := q.rdb.Close(); err != nil {
		return fmt.Errorf("redis queue %s: close: %w", q.url, err)
	}
	return nil
}
