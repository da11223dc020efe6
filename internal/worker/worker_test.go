package worker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/queue/memory"
	"github.com/stella-scan/stella/internal/queue/redisq"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/store/storetest"
	"github.com/stella-scan/stella/internal/testsvc"
	"github.com/stella-scan/stella/internal/worker"
)

func openStore(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func submit(t *testing.T, st store.Store, q queue.Queue, ids ...string) {
	t.Helper()
	for _, id := range ids {
		s := &store.Scan{ID: id, Tenant: "acme", Target: "registry.example.com/" + id + ":1"}
		if err := st.CreateScan(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if err := q.Enqueue(t.Context(), queue.Job{ScanID: id, Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
	}
}

// counter counts scan calls per scan id.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *counter) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// startWorker runs worker.Run until the test ends and checks it returned nil.
func startWorker(t *testing.T, st store.Store, q queue.Queue, name string, scan worker.ScanFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- worker.Run(ctx, st, q, name, scan) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("worker %s: %v", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("worker %s did not stop within 5s of cancel", name)
		}
	})
}

// waitFinal waits until every scan is done or failed.
func waitFinal(t *testing.T, st store.Store, timeout time.Duration, ids ...string) map[string]*store.Scan {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := map[string]*store.Scan{}
		for _, id := range ids {
			s, err := st.GetScan(t.Context(), "acme", id)
			if err != nil {
				t.Fatal(err)
			}
			if s.State == store.StateDone || s.State == store.StateFailed {
				out[id] = s
			}
		}
		if len(out) == len(ids) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v only %d of %d scans finished", timeout, len(out), len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func findingsOf(t *testing.T, st store.Store, id string) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		rows, next, err := st.Findings(t.Context(), store.FindingFilter{Tenant: "acme", Cursor: cursor, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.ScanID == id {
				n++
			}
		}
		if next == "" {
			return n
		}
		cursor = next
	}
}

func TestRunStoresResults(t *testing.T) {
	st := openStore(t, t.TempDir())
	q := memory.New(time.Minute)
	var calls counter
	ids := []string{"s1", "s2", "s3", "s4"}
	submit(t, st, q, ids...)
	scan := func(ctx context.Context, s *store.Scan) (*report.Result, error) {
		calls.inc(s.ID)
		if s.State != store.StateRunning || s.Attempts != 1 {
			return nil, fmt.Errorf("scan %s handed over in state %s, attempts %d", s.ID, s.State, s.Attempts)
		}
		return storetest.Result(s.Target, "sha256:"+s.ID), nil
	}
	startWorker(t, st, q, "w1", scan)
	startWorker(t, st, q, "w2", scan)
	got := waitFinal(t, st, 10*time.Second, ids...)
	for _, id := range ids {
		s := got[id]
		if s.State != store.StateDone || s.Attempts != 1 || s.Verdict != "fail" || s.Digest != "sha256:"+id || s.Result == nil || s.Error != "" {
			t.Fatalf("scan %s = %+v", id, s)
		}
		if n := calls.get(id); n != 1 {
			t.Fatalf("scan %s ran %d times", id, n)
		}
		if n := findingsOf(t, st, id); n != 3 {
			t.Fatalf("scan %s has %d findings, want 3", id, n)
		}
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d jobs left in the queue", n)
	}
}

func TestRunRetriesThenFails(t *testing.T) {
	st := openStore(t, t.TempDir())
	q := memory.New(time.Minute)
	var calls counter
	submit(t, st, q, "broken", "flaky")
	startWorker(t, st, q, "w1", func(ctx context.Context, s *store.Scan) (*report.Result, error) {
		n := calls.inc(s.ID)
		if s.ID == "flaky" && n == 2 {
			return storetest.Result(s.Target, "sha256:flaky"), nil
		}
		if s.ID == "flaky" {
			panic("registry client bug")
		}
		return nil, errors.New("pull registry.example.com/broken:1: manifest unknown")
	})
	got := waitFinal(t, st, 10*time.Second, "broken", "flaky")
	b := got["broken"]
	if b.State != store.StateFailed || b.Attempts != worker.MaxAttempts || !strings.Contains(b.Error, "manifest unknown") || b.Result != nil {
		t.Fatalf("broken scan = %+v", b)
	}
	if n := calls.get("broken"); n != worker.MaxAttempts {
		t.Fatalf("broken scan ran %d times, want %d", n, worker.MaxAttempts)
	}
	f := got["flaky"]
	if f.State != store.StateDone || f.Attempts != 2 || f.Result == nil {
		t.Fatalf("flaky scan = %+v", f)
	}
	// Let the worker settle, then nothing may be left.
	deadline := time.Now().Add(2 * time.Second)
	for q.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d jobs left in the queue", n)
	}
}

func TestUnknownAndFinishedJobsAcked(t *testing.T) {
	st := openStore(t, t.TempDir())
	q := memory.New(time.Minute)
	submit(t, st, q, "done-already")
	if err := st.CompleteScan(t.Context(), "acme", "done-already", storetest.Result("x", "sha256:x")); err != nil {
		t.Fatal(err)
	}
	// A job naming another tenant's scan is not run for it.
	if err := q.Enqueue(t.Context(), queue.Job{ScanID: "done-already", Tenant: "globex"}); err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(t.Context(), queue.Job{ScanID: "ghost", Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	var calls counter
	startWorker(t, st, q, "w1", func(ctx context.Context, s *store.Scan) (*report.Result, error) {
		calls.inc(s.ID)
		return storetest.Result(s.Target, "sha256:x"), nil
	})
	deadline := time.Now().Add(5 * time.Second)
	for q.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d jobs left in the queue", n)
	}
	if n := calls.get("done-already") + calls.get("ghost"); n != 0 {
		t.Fatalf("scan ran %d times for finished or unknown jobs", n)
	}
	if s, _ := st.GetScan(t.Context(), "acme", "done-already"); s.Attempts != 0 {
		t.Fatalf("finished scan attempts changed to %d", s.Attempts)
	}
}

const (
	envDir   = "STELLA_TEST_WORKER_DIR"
	envRedis = "STELLA_TEST_WORKER_REDIS"
	stream   = "kill-test"
)

// TestWorkerProcess is the worker process of TestKilledWorker; it does
// nothing unless started by it. Its scans announce themselves with a
// marker file and then hang until the process is killed.
func TestWorkerProcess(t *testing.T) {
	dir := os.Getenv(envDir)
	if dir == "" {
		t.Skip("worker process of TestKilledWorker")
	}
	st, err := sqlite.Open(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	q, err := redisq.Open(t.Context(), os.Getenv(envRedis), redisq.Options{Stream: stream, Lease: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	err = worker.Run(t.Context(), st, q, "doomed", func(ctx context.Context, s *store.Scan) (*report.Result, error) {
		if err := os.WriteFile(filepath.Join(dir, "started-"+s.ID), nil, 0o600); err != nil {
			return nil, err
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	t.Fatalf("worker returned: %v", err)
}

func TestKilledWorker(t *testing.T) {
	url := testsvc.Redis(t)
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "data"))
	lease := 700 * time.Millisecond
	q, err := redisq.Open(t.Context(), url, redisq.Options{Stream: stream, Lease: lease})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() }) // after the survivor stops
	ids := []string{"k1", "k2", "k3"}
	submit(t, st, q, ids...)

	cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerProcess$", "-test.v")
	cmd.Env = append(os.Environ(), envDir+"="+dir, envRedis+"="+url)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	// Wait for the child to be mid-scan on the first job.
	marker := filepath.Join(dir, "started-k1")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("worker process never started scanning k1; its output:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s, err := st.GetScan(t.Context(), "acme", "k1"); err != nil || s.State != store.StateRunning || s.Attempts != 1 {
		t.Fatalf("k1 while the worker process scans it = %+v, %v", s, err)
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	killed = true
	if werr == nil || !strings.Contains(werr.Error(), "killed") {
		t.Fatalf("worker process exit = %v, want killed", werr)
	}

	var calls counter
	startWorker(t, st, q, "survivor", func(ctx context.Context, s *store.Scan) (*report.Result, error) {
		calls.inc(s.ID)
		return storetest.Result(s.Target, "sha256:"+s.ID), nil
	})
	got := waitFinal(t, st, 15*time.Second, ids...)
	for _, id := range ids {
		s := got[id]
		wantAttempts := 1
		if id == "k1" {
			wantAttempts = 2
		}
		if s.State != store.StateDone || s.Attempts != wantAttempts || s.Result == nil {
			t.Fatalf("scan %s = state %s attempts %d (want done, %d)", id, s.State, s.Attempts, wantAttempts)
		}
		if n := calls.get(id); n != 1 {
			t.Fatalf("survivor ran %s %d times", id, n)
		}
		if n := findingsOf(t, st, id); n != 3 {
			t.Fatalf("scan %s has %d findings, want 3 (stored once)", id, n)
		}
	}
	// Every job was acknowledged: a fresh consumer finds nothing, even
	// after a lease.
	if j, err := q.Dequeue(t.Context(), "checker", 2*lease); err != nil || j != nil {
		t.Fatalf("left in the queue: %+v, %v", j, err)
	}
}
