package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sink"
	"github.com/stella-scan/stella/internal/testsvc"
)

// A result published to a real rabbitmq-server reaches the sinks of a
// `stella sink-worker` process: a JSON file and an HMAC-signed webhook.
// The first worker is killed (SIGKILL) while the webhook holds its
// request, after the JSON sink took the result and before the ack; the
// broker redelivers the message to a second worker on the same spool,
// which sends it to the webhook once and not again to the JSON sink. The
// second worker acks it: after it stops, the queue is empty.
func TestSinkWorkerKilledBeforeAck(t *testing.T) {
	url := testsvc.RabbitMQ(t)
	dir := t.TempDir()
	urlFile, secretFile := filepath.Join(dir, "amqp-url"), filepath.Join(dir, "hmac")
	os.WriteFile(urlFile, []byte(url+"\n"), 0o600)
	secret := []byte("webhook-secret")
	os.WriteFile(secretFile, secret, 0o600)
	const q = "stella.results.test"

	var (
		mu        sync.Mutex
		requests  int
		completed = map[string]int{} // scan id -> deliveries answered 200
	)
	arrived, dropped := make(chan struct{}), make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		if !hmac.Equal([]byte(r.Header.Get("X-Stella-Signature")), []byte("sha256="+hex.EncodeToString(m.Sum(nil)))) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		requests++
		first := requests == 1
		mu.Unlock()
		if first { // hold the first worker here until it is killed
			close(arrived)
			<-r.Context().Done()
			close(dropped)
			return
		}
		mu.Lock()
		completed[r.Header.Get("X-Stella-Delivery")]++
		mu.Unlock()
	}))
	defer hook.Close()

	pub := sink.NewAMQP(url, q)
	defer pub.Close()
	if err := pub.Deliver(t.Context(), sink.Delivery{ScanID: "k1", Tenant: "acme", Result: &report.Result{Target: "registry.test/app:1"}}); err != nil {
		t.Fatal(err)
	}

	out, spool := t.TempDir(), t.TempDir()
	args := []string{"sink-worker", "--amqp-url-file", urlFile, "--queue", q, "--spool", spool,
		"--sink", "json:dir=" + out, "--sink", "webhook:url=" + hook.URL + ",secret-file=" + secretFile}
	w1 := start(t, args...)
	select {
	case <-arrived:
	case <-w1.exited:
		t.Fatalf("sink-worker exited: %v\n%s", w1.err, w1.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the webhook got nothing in 30s:\n%s", w1.out.String())
	}
	jsonFile := filepath.Join(out, "k1.json")
	before, err := os.Stat(jsonFile)
	if err != nil {
		t.Fatalf("the JSON sink did not get k1 before the webhook: %v", err)
	}
	w1.cmd.Process.Kill()
	<-w1.exited
	<-dropped

	w2 := start(t, args...)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := completed["k1"]
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("k1 not redelivered to the webhook:\n%s", w2.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The delivery is recorded just before the ack; stop the worker
	// gracefully once it is.
	waitFile(t, filepath.Join(spool, "webhook-1", "delivered", "k1"))
	w2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w2.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("sink-worker did not stop on SIGTERM")
	}

	after, err := os.Stat(jsonFile)
	if err != nil || !os.SameFile(before, after) {
		t.Errorf("the JSON sink was sent k1 again (file replaced): %v", err)
	}
	mu.Lock()
	if completed["k1"] != 1 || requests != 2 {
		t.Errorf("webhook: k1 completed %d times in %d requests; want once, in 2 (the killed one and the redelivery)", completed["k1"], requests)
	}
	mu.Unlock()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	st, err := ch.QueueDeclarePassive(q, true, false, false, false, nil)
	if err != nil || st.Messages != 0 {
		t.Fatalf("queue after the second worker stopped: %+v, %v (want empty: acked)", st, err)
	}
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Usage errors exit 2 before any connection: no broker URL, no sink, a
// sink that would publish back into the queue, a secret in a spec that
// cannot be read.
func TestSinkWorkerUsage(t *testing.T) {
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	os.WriteFile(urlFile, []byte("amqp://guest:guest@127.0.0.1:1/"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sink", "json:dir=" + dir}, "STELLA_AMQP_URL"},
		{[]string{"--amqp-url-file", urlFile}, "at least one --sink"},
		{[]string{"--amqp-url-file", urlFile, "--sink", "amqp:url-file=" + urlFile}, "not back into it"},
		{[]string{"--amqp-url-file", urlFile, "--sink", "slack:url-file=" + filepath.Join(dir, "missing")}, "url-file"},
		{[]string{"--amqp-url-file", filepath.Join(dir, "missing"), "--sink", "json:dir=" + dir}, "--amqp-url-file"},
	} {
		cmd := exec.Command(os.Args[0], append([]string{"sink-worker", "--spool", filepath.Join(dir, "spool")}, tc.args...)...)
		cmd.Env = append(os.Environ(), envRunMain+"=1", "STELLA_AMQP_URL=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage || !strings.Contains(string(out), tc.want) {
			t.Errorf("sink-worker %v: %v, output %q; want exit %d naming %q", tc.args, err, out, exitUsage, tc.want)
		}
	}
}
