package sink_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/sink"
	"github.com/stella-scan/stella/internal/testsvc"
)

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

// Results published to a real rabbitmq-server by one process's
// dispatcher are delivered by a sink-worker's consumer to its sinks; a
// broker outage loses nothing (spooled, then published when it is back);
// a message delivered twice reaches each sink once.
func TestRabbitMQTransport(t *testing.T) {
	broker := testsvc.RabbitMQ(t)
	fast := sink.Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Timeout: 10 * time.Second}

	// The scanner side: results go to the queue.
	pubOpts := fast
	pubOpts.Spool = t.TempDir()
	pub, err := sink.NewDispatcher([]sink.Sink{sink.NewAMQP(broker.URL, sink.DefaultQueue)}, pubOpts)
	if err != nil {
		t.Fatal(err)
	}
	// The sink-worker side: from the queue to a JSON file sink.
	out := t.TempDir()
	js, _ := sink.NewJSONFile(out, 100)
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
	wg.Add(3)
	go func() { defer wg.Done(); pub.Run(ctx) }()
	go func() { defer wg.Done(); sub.Run(ctx) }()
	go func() {
		defer wg.Done()
		sink.Consume(ctx, broker.URL, sink.DefaultQueue, sub.Submit)
	}()

	for _, id := range []string{"r1", "r2"} {
		if err := pub.Submit(ctx, delivery(id)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return files.count("r1") == 1 && files.count("r2") == 1 }, "r1 and r2 through the broker")

	// Outage: the broker goes away; a result submitted meanwhile waits in
	// the spool and is delivered once the broker is back.
	broker.Stop()
	if err := pub.Submit(ctx, delivery("r3")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if pub.Pending() != 1 {
		t.Fatalf("during the outage %d results pending, want 1", pub.Pending())
	}
	broker.Start()
	waitFor(t, func() bool { return files.count("r3") == 1 }, "r3 after the outage")
	if pub.Pending() != 0 {
		t.Fatalf("%d results still pending after recovery", pub.Pending())
	}
	if _, err := os.Stat(filepath.Join(out, "r3.json")); err != nil {
		t.Fatal(err)
	}

	// The same result published again (a worker that re-ran a re-claimed
	// job): the queue delivers it, the sink does not get it twice.
	again := sink.NewAMQP(broker.URL, sink.DefaultQueue)
	defer again.Close()
	// r4 follows the duplicate in the queue: once r4 is in, the duplicate
	// was handled.
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
