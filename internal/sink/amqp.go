package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultQueue is the RabbitMQ queue results travel on.
const DefaultQueue = "stella.results"

// maxMessage bounds a message a sink-worker accepts.
const maxMessage = 64 << 20

// AMQP publishes each result as a persistent message (message id = scan
// id) to a durable queue, with publisher confirms: Deliver returns only
// once the broker has taken it.
type AMQP struct {
	url, queue string
	mu         sync.Mutex
	conn       *amqp.Connection
	ch         *amqp.Channel
	confirms   chan amqp.Confirmation
	returns    chan amqp.Return
}

func newAMQP(opts map[string]string) (*AMQP, error) {
	u, err := secret(opts, "url-file", "STELLA_AMQP_URL")
	if err != nil {
		return nil, err
	}
	q := opts["queue"]
	if q == "" {
		q = DefaultQueue
	}
	return NewAMQP(u, q), nil
}

// NewAMQP is a RabbitMQ sink; it connects on first use and reconnects
// after a broker outage.
func NewAMQP(amqpURL, queue string) *AMQP { return &AMQP{url: amqpURL, queue: queue} }

func (a *AMQP) Name() string { return "amqp" }

// redactAMQP hides the password of an amqp:// URL.
func redactAMQP(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// setupTimeout bounds opening a channel and declaring the queue: the
// client library's calls after the handshake have no deadline of their
// own, and a broker that accepts connections while it recovers may not
// answer them.
const setupTimeout = 30 * time.Second

// dial opens a connection and a channel (in confirm mode when confirm),
// and declares the durable queue; all of it bounded by ctx and
// setupTimeout.
func dial(ctx context.Context, amqpURL, queue string, confirm bool) (*amqp.Connection, *amqp.Channel, error) {
	conn, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(10 * time.Second), Heartbeat: 10 * time.Second})
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", redactAMQP(amqpURL), err)
	}
	sctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	stop := context.AfterFunc(sctx, func() { conn.Close() }) // unblocks the calls below
	fail := func(what string, err error) (*amqp.Connection, *amqp.Channel, error) {
		conn.Close()
		if sctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", sctx.Err(), err)
		}
		return nil, nil, fmt.Errorf("%s on %s: %w", what, redactAMQP(amqpURL), err)
	}
	ch, err := conn.Channel()
	if err != nil {
		return fail("open channel", err)
	}
	if confirm {
		if err := ch.Confirm(false); err != nil {
			return fail("confirm mode", err)
		}
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		return fail("declare queue "+queue, err)
	}
	if !stop() {
		conn.Close()
		return nil, nil, fmt.Errorf("set up %s: %w", redactAMQP(amqpURL), sctx.Err())
	}
	return conn, ch, nil
}

func (a *AMQP) Deliver(ctx context.Context, d Delivery) error {
	body, err := json.Marshal(d)
	if err != nil {
		return Permanent(err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.conn == nil || a.conn.IsClosed() {
		conn, ch, err := dial(ctx, a.url, a.queue, true)
		if err != nil {
			return err
		}
		// A mandatory message no queue takes comes back (basic.return)
		// before its confirm.
		a.returns = ch.NotifyReturn(make(chan amqp.Return, 1))
		a.conn, a.ch, a.confirms = conn, ch, ch.NotifyPublish(make(chan amqp.Confirmation, 1))
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err = a.ch.PublishWithContext(pctx, "", a.queue, true, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, MessageId: d.ScanID,
		Timestamp: time.Now().UTC(), Type: "stella.scan.result", Body: body,
	})
	if err != nil {
		a.reset()
		return fmt.Errorf("publish %s: %w", d.ScanID, err)
	}
	select {
	case c, ok := <-a.confirms:
		if !ok {
			a.reset()
			return errors.New("broker closed the channel before confirming")
		}
		if !c.Ack {
			return fmt.Errorf("broker refused %s (nack)", d.ScanID)
		}
		select {
		case r, ok := <-a.returns:
			if !ok { // the connection closed after the confirm: delivered
				a.reset()
				return nil
			}
			a.reset() // the next attempt declares the queue again
			return fmt.Errorf("publish %s: returned by the broker: %d %s (queue %s gone?)", r.MessageId, r.ReplyCode, r.ReplyText, a.queue)
		default:
		}
		return nil
	case <-pctx.Done():
		a.reset()
		return fmt.Errorf("publish %s: no confirm: %w", d.ScanID, pctx.Err())
	}
}

func (a *AMQP) reset() {
	if a.conn != nil {
		a.conn.Close()
	}
	a.conn, a.ch, a.confirms, a.returns = nil, nil, nil, nil
}

// Close closes the connection.
func (a *AMQP) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reset()
	return nil
}

// ConsumeOptions tune Consume.
type ConsumeOptions struct {
	// MinPause and MaxPause bound the pause before a message whose
	// delivery failed is requeued; it doubles with each failure of the
	// same scan (default 1 s and 30 s), so that a sink outage does not
	// spin the broker.
	MinPause, MaxPause time.Duration
	// Prefetch is how many unacknowledged messages the broker sends
	// ahead (default 4).
	Prefetch int
	Logger   *slog.Logger
}

// Consume takes results from the queue until ctx ends: each message is
// handed to handle and acknowledged only when handle returns nil; it is
// requeued (after a pause) otherwise. A message that is not a result
// (not JSON, no valid scan id, larger than 64 MiB) is rejected without
// requeue: the broker dead-letters it if the queue has a dead-letter
// exchange. A broken connection is re-dialled with backoff.
func Consume(ctx context.Context, amqpURL, queue string, o ConsumeOptions, handle func(context.Context, Delivery) error) error {
	if o.MinPause <= 0 {
		o.MinPause = time.Second
	}
	if o.MaxPause < o.MinPause {
		o.MaxPause = max(30*time.Second, o.MinPause)
	}
	if o.Prefetch <= 0 {
		o.Prefetch = 4
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &consumer{o: o, failures: map[string]int{}}
	backoff := time.Second
	for ctx.Err() == nil {
		err := c.once(ctx, amqpURL, queue, handle)
		if ctx.Err() != nil {
			return nil
		}
		o.Logger.Warn("sink-worker: broker connection lost; reconnecting", "queue", queue, "in", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

type consumer struct {
	o        ConsumeOptions
	failures map[string]int // scan id -> failed deliveries in a row
}

func (c *consumer) once(ctx context.Context, amqpURL, queue string, handle func(context.Context, Delivery) error) error {
	conn, ch, err := dial(ctx, amqpURL, queue, false)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := ch.Qos(c.o.Prefetch, 0, false); err != nil {
		return err
	}
	msgs, err := ch.ConsumeWithContext(ctx, queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", queue, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return errors.New("the broker closed the consumer")
			}
			var d Delivery
			if len(m.Body) > maxMessage {
				c.o.Logger.Error("sink-worker: message too large; rejected", "queue", queue, "message", m.MessageId, "bytes", len(m.Body))
				m.Nack(false, false)
				continue
			}
			if err := json.Unmarshal(m.Body, &d); err != nil || !safeID.MatchString(d.ScanID) {
				c.o.Logger.Error("sink-worker: message is not a stella result; rejected", "queue", queue, "message", m.MessageId, "err", err)
				m.Nack(false, false)
				continue
			}
			if err := handle(ctx, d); err != nil {
				if ctx.Err() != nil {
					return nil // the connection closes: the broker requeues it
				}
				if len(c.failures) > 10000 {
					clear(c.failures)
				}
				c.failures[d.ScanID]++
				pause := c.o.MinPause << min(c.failures[d.ScanID]-1, 20)
				if pause > c.o.MaxPause || pause <= 0 {
					pause = c.o.MaxPause
				}
				c.o.Logger.Warn("sink-worker: delivery failed; requeued", "scan", d.ScanID, "pause", pause, "err", err)
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(pause):
				}
				if err := m.Nack(false, true); err != nil {
					return fmt.Errorf("requeue %s: %w", d.ScanID, err)
				}
				continue
			}
			delete(c.failures, d.ScanID)
			if err := m.Ack(false); err != nil {
				return fmt.Errorf("ack %s: %w", d.ScanID, err)
			}
		}
	}
}
