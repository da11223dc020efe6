package sink_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stella-scan/stella/internal/sink"
	"github.com/stella-scan/stella/internal/testsvc"
)

// One broker for the package's tests: it takes seconds to boot.
var (
	brokerOnce sync.Once
	shared     *testsvc.Rabbit
	brokerErr  error
)

func broker(t *testing.T) *testsvc.Rabbit {
	t.Helper()
	brokerOnce.Do(func() { shared, brokerErr = testsvc.StartRabbitMQ() })
	if brokerErr != nil {
		t.Fatal(brokerErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("broker log:\n%s", shared.Logs())
		}
	})
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

// counting counts what reaches the sink behind it.
type counting struct {
	sink.Sink
	mu sync.Mutex
	n  map[string]int
}

func (c *counting) Deliver(ctx context.Context, d sink.Delivery) error {
	if err := c.Sink.Deliver(ctx, d); err != nil {
		return err
	}
	c.mu.Lock()
	c.n[d.ScanID]++
	c.mu.Unlock()
	return nil
}

func (c *counting) count(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// queueDepth is the number of ready messages in q.
// rawChannel is a plain client's channel on the broker, closed with the
// test: what a test publishes or inspects outside the sink.
func rawChannel(t *testing.T, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func queueDepth(t *testing.T, url, q string) int {
	t.Helper()
	st, err := rawChannel(t, url).QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st.Messages
}

var fastConsume = sink.ConsumeOptions{MinPause: 20 * time.Millisecond, MaxPause: 100 * time.Millisecond}

// Results published by a scanner's dispatcher to a real rabbitmq-server
// are delivered by a sink-worker's consumer to its sink; a broker outage
// loses nothing: a result submitted during it waits in the spool and is
// published when the broker is back, and a message that was in the queue
// when the broker died (persistent, durable queue) is still there after.
// A message delivered twice reaches the sink once.
func TestRabbitMQTransport(t *testing.T) {
	b := broker(t)
	const q = "transport"
	fast := sink.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Timeout: 10 * time.Second}

	// The scanner side: results go to the queue through the spool.
	pubOpts := fast
	pubOpts.Spool = t.TempDir()
	pub, err := sink.NewDispatcher([]sink.Sink{sink.NewAMQP(b.URL, q)}, pubOpts)
	if err != nil {
		t.Fatal(err)
	}
	// The sink-worker side: from the queue to a JSON file sink.
	out := t.TempDir()
	js, _ := sink.NewJSONFile(out, 100, 0)
	files := &counting{Sink: js, n: map[string]int{}}
	subOpts := fast
	subOpts.Spool = t.TempDir()
	sub, err := sink.NewDispatcher([]sink.Sink{files}, subOpts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); pub.Run(ctx) }()
	consume := func() (stop func()) {
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); sink.Consume(cctx, b.URL, q, fastConsume, sub.Deliver) }()
		return func() { ccancel(); <-done }
	}
	stopConsumer := consume()

	for _, id := range []string{"r1", "r2"} {
		if err := pub.Submit(ctx, delivery(id)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return files.count("r1") == 1 && files.count("r2") == 1 }, "r1 and r2 through the broker")

	// r5 is confirmed into the queue while no sink-worker runs.
	stopConsumer()
	if err := pub.Submit(ctx, delivery("r5")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return pub.Pending() == 0 }, "r5 published")

	// Outage: the broker is killed; r3, submitted meanwhile, waits in the
	// spool.
	b.Stop()
	if err := pub.Submit(ctx, delivery("r3")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if pub.Pending() != 1 {
		t.Fatalf("during the outage %d results pending, want 1", pub.Pending())
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	stopConsumer = consume()
	defer stopConsumer()
	waitFor(t, func() bool { return files.count("r3") == 1 && files.count("r5") == 1 }, "r3 and r5 after the outage")
	// The spool entry goes once the confirm is in, which may be after
	// the consumer already has the message.
	waitFor(t, func() bool { return pub.Pending() == 0 }, "the spool to drain after recovery")
	if _, err := os.Stat(filepath.Join(out, "r3.json")); err != nil {
		t.Fatal(err)
	}

	// The same result published again (a worker that re-ran a re-claimed
	// job): the queue delivers it, the sink does not get it twice. r4
	// follows the duplicate in the queue: once r4 is in, the duplicate
	// was handled.
	again := sink.NewAMQP(b.URL, q)
	defer again.Close()
	for _, id := range []string{"r1", "r4"} {
		if err := again.Deliver(ctx, delivery(id)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return files.count("r4") == 1 }, "r4 after the duplicate")
	if n := files.count("r1"); n != 1 {
		t.Fatalf("r1 reached the sink %d times", n)
	}
}

// The sink-worker's consumer acknowledges a message only once every sink
// has it: while HEC answers 503 the message is requeued (and redelivered)
// and the JSON sink, which took it the first time, is not sent it again;
// once HEC recovers the message is acked. A message that is not a result
// is rejected, not requeued forever.
func TestConsumeAcksOnlyWhenEverySinkHasIt(t *testing.T) {
	b := broker(t)
	const q = "redeliver"
	h := &hec{events: map[string]int{}, fail: 4}
	srv := httptest.NewServer(h)
	defer srv.Close()
	js, _ := sink.NewJSONFile(t.TempDir(), 10, 0)
	files := &counting{Sink: js, n: map[string]int{}}
	spool := t.TempDir()
	d, err := sink.NewDispatcher([]sink.Sink{files, sink.NewSplunk(srv.URL, "hec-token", "")}, sink.Options{Spool: spool, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	pub := sink.NewAMQP(b.URL, q)
	defer pub.Close()
	if err := pub.Deliver(t.Context(), delivery("x1")); err != nil {
		t.Fatal(err)
	}
	// Not a result: published raw.
	ch := rawChannel(t, b.URL)
	if err := ch.PublishWithContext(t.Context(), "", q, false, false, amqp.Publishing{Body: []byte("not json")}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); sink.Consume(ctx, b.URL, q, fastConsume, d.Deliver) }()
	waitFor(t, func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.events["x1"] == 1 }, "x1 in HEC after its recovery")
	// The last sink's record is written just before the ack: stopping
	// the consumer after it cannot requeue the message.
	waitFor(t, func() bool {
		_, err := os.Stat(filepath.Join(spool, "splunk-1", "delivered", "x1"))
		return err == nil
	}, "the record of x1 in splunk-1")
	cancel()
	<-done
	h.mu.Lock()
	left := h.fail
	h.mu.Unlock()
	if left != 0 || files.count("x1") != 1 {
		t.Fatalf("HEC refusals left %d (want the message redelivered 4 times); json sink got x1 %d times (want 1)", left, files.count("x1"))
	}
	if n := queueDepth(t, b.URL, q); n != 0 {
		t.Fatalf("%d messages left in the queue after the consumer stopped (not acked or requeued forever)", n)
	}
}

// A message no queue takes (the queue was deleted after the sink declared
// it) comes back from the broker: the delivery fails rather than
// counting as done, and the next attempt declares the queue again.
func TestAMQPReturnedMessage(t *testing.T) {
	b := broker(t)
	const q = "gone"
	a := sink.NewAMQP(b.URL, q)
	defer a.Close()
	if err := a.Deliver(t.Context(), delivery("g1")); err != nil {
		t.Fatal(err)
	}
	ch := rawChannel(t, b.URL)
	if _, err := ch.QueueDelete(q, false, false, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Deliver(t.Context(), delivery("g2")); err == nil {
		t.Fatal("a message to a deleted queue counted as delivered")
	}
	if err := a.Deliver(t.Context(), delivery("g2")); err != nil {
		t.Fatal(err)
	}
	if n := queueDepth(t, b.URL, q); n != 1 {
		t.Fatalf("queue %s holds %d messages, want g2 only", q, n)
	}
}
