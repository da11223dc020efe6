package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channel is the Redis pub/sub channel events travel on.
const Channel = "stella:events"

// maxEvent bounds one event read from Redis: anything larger is not ours.
const maxEvent = 64 << 10

// Redis publishes events to every process subscribed to Channel.
type Redis struct {
	c *redis.Client
}

// OpenRedis connects to url (redis://…) and checks it answers.
func OpenRedis(ctx context.Context, url string) (*Redis, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("events redis %s: %w", redactURL(url), err)
	}
	c := redis.NewClient(o)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("events redis %s: %w", redactURL(url), err)
	}
	return &Redis{c: c}, nil
}

// Close closes the connection.
func (r *Redis) Close() error { return r.c.Close() }

// Publish sends e on Channel; a failure is logged, never returned (see
// Publisher).
func (r *Redis) Publish(ctx context.Context, e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := r.c.Publish(pctx, Channel, b).Err(); err != nil {
		slog.Warn("events: publish to redis failed; listeners re-read /api/scans", "scan", e.ScanID, "err", err)
	}
}

// Relay feeds every event published on Channel into h until ctx ends.
// It returns once the subscription is live, so that nothing published
// after Relay returns is missed.
func (r *Redis) Relay(ctx context.Context, h *Hub) error {
	ps := r.c.Subscribe(ctx, Channel)
	if _, err := ps.Receive(ctx); err != nil { // the subscription confirmation
		ps.Close()
		return fmt.Errorf("events: subscribe %s: %w", Channel, err)
	}
	go func() {
		defer ps.Close()
		ch := ps.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				if len(m.Payload) > maxEvent {
					slog.Warn("events: oversized message on the channel dropped", "bytes", len(m.Payload))
					continue
				}
				var e Event
				if err := json.Unmarshal([]byte(m.Payload), &e); err != nil || e.ScanID == "" || e.Tenant == "" {
					slog.Warn("events: malformed message on the channel dropped", "err", err)
					continue
				}
				h.Publish(ctx, e)
			}
		}
	}()
	return nil
}

// redactURL hides a password in url.
func redactURL(u string) string {
	o, err := redis.ParseURL(u)
	if err != nil || o.Password == "" {
		return u
	}
	return "redis://…@" + o.Addr
}
