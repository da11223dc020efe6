package events_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stella-scan/stella/internal/events"
	"github.com/stella-scan/stella/internal/testsvc"
)

func recv(t *testing.T, ch <-chan events.Event) events.Event {
	t.Helper()
	select {
	case e := <-ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return events.Event{}
}

func none(t *testing.T, ch <-chan events.Event, what string) {
	t.Helper()
	select {
	case e := <-ch:
		t.Fatalf("%s received %+v", what, e)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestHubTenants(t *testing.T) {
	h := events.NewHub()
	var observed []string
	h.Observe(func(e events.Event) { observed = append(observed, e.ScanID) })
	acme, cancelA := h.Subscribe("acme")
	defer cancelA()
	globex, cancelG := h.Subscribe("globex")
	all, cancelAll := h.Subscribe(events.All)
	defer cancelAll()

	h.Publish(t.Context(), events.Event{Type: events.Queued, ScanID: "s1", Tenant: "acme"})
	if e := recv(t, acme); e.ScanID != "s1" || e.Time.IsZero() {
		t.Fatalf("acme got %+v", e)
	}
	if e := recv(t, all); e.ScanID != "s1" {
		t.Fatalf("all got %+v", e)
	}
	none(t, globex, "globex (another tenant)")

	cancelG()
	cancelG() // twice is harmless
	h.Publish(t.Context(), events.Event{Type: events.Queued, ScanID: "s2", Tenant: "globex"})
	none(t, globex, "a cancelled subscription")
	if len(observed) != 2 {
		t.Fatalf("observer saw %v", observed)
	}
}

// A slow subscriber loses events; the publisher never blocks.
func TestHubSlowSubscriber(t *testing.T) {
	h := events.NewHub()
	_, cancel := h.Subscribe("acme")
	defer cancel()
	done := make(chan struct{})
	go func() {
		for range 1000 {
			h.Publish(context.Background(), events.Event{ScanID: "x", Tenant: "acme"})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Publish blocked on a subscriber that reads nothing")
	}
}

// Two processes' worth of clients on one redis-server: what one publishes
// reaches the other's hub, and garbage on the channel is dropped.
func TestRedisRelay(t *testing.T) {
	url := testsvc.Redis(t)
	worker, err := events.OpenRedis(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer worker.Close()
	gateway, err := events.OpenRedis(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer gateway.Close()
	h := events.NewHub()
	if err := gateway.Relay(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	acme, cancel := h.Subscribe("acme")
	defer cancel()

	// Hostile or foreign messages on the channel.
	o, _ := redis.ParseURL(url)
	raw := redis.NewClient(o)
	defer raw.Close()
	for _, m := range []string{"not json", `{"scanId":""}`, `{"scanId":"x"}`} {
		if err := raw.Publish(t.Context(), events.Channel, m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	worker.Publish(t.Context(), events.Event{Type: events.Finished, ScanID: "s1", Tenant: "acme", Verdict: "fail"})
	if e := recv(t, acme); e.ScanID != "s1" || e.Type != events.Finished || e.Verdict != "fail" {
		t.Fatalf("relayed %+v", e)
	}
	none(t, acme, "after the one real event")
}

func TestOpenRedisUnreachable(t *testing.T) {
	port := testsvc.FreePort(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err := events.OpenRedis(ctx, "redis://:secret@127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		t.Fatal("no error for a closed port")
	}
	if s := err.Error(); strings.Contains(s, "secret") {
		t.Fatalf("error leaks the password: %s", s)
	}
}
