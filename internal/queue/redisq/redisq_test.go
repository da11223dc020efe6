package redisq_test

import (
	"context"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/queue/queuetest"
	"github.com/stella-scan/stella/internal/queue/redisq"
	"github.com/stella-scan/stella/internal/testsvc"
)

func TestContract(t *testing.T) {
	url := testsvc.Redis(t)
	queuetest.Run(t, func(t *testing.T, lease time.Duration) queue.Queue {
		q, err := redisq.Open(t.Context(), url, redisq.Options{Stream: "jobs-" + t.Name(), Lease: lease})
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
}

// Two queue handles (two worker processes) share one stream: a job taken
// by one and never acked is re-claimed by the other.
func TestSharedAcrossHandles(t *testing.T) {
	url := testsvc.Redis(t)
	o := redisq.Options{Stream: "shared", Lease: 200 * time.Millisecond}
	a, err := redisq.Open(t.Context(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := redisq.Open(t.Context(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Enqueue(t.Context(), queue.Job{ScanID: "s1", Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	j, err := a.Dequeue(t.Context(), "worker-a", time.Second)
	if err != nil || j == nil {
		t.Fatalf("a: %v, %v", j, err)
	}
	j2, err := b.Dequeue(t.Context(), "worker-b", 3*time.Second)
	if err != nil || j2 == nil || j2.ScanID != "s1" || j2.Delivery != 2 || j2.Receipt != j.Receipt {
		t.Fatalf("b re-claimed %+v, %v", j2, err)
	}
	if err := b.Ack(context.Background(), j2); err != nil {
		t.Fatal(err)
	}
	if j3, err := a.Dequeue(t.Context(), "worker-a", 500*time.Millisecond); err != nil || j3 != nil {
		t.Fatalf("after ack a got %+v, %v", j3, err)
	}
}

func TestBadURL(t *testing.T) {
	if _, err := redisq.Open(t.Context(), "http://nope", redisq.Options{}); err == nil {
		t.Fatal("Open(http://nope): no error")
	}
}
