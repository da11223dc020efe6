package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sink"
)

func result(target string) *report.Result {
	return &report.Result{
		Target: target,
		Image:  &report.Image{Digest: "sha256:abcd"},
		Policy: report.Policy{Decision: "fail", Reasons: []string{"deny: CRITICAL CVE-2024-1 in zlib1g"}},
		Findings: []match.Finding{
			{ID: "CVE-2024-1", Package: match.PackageRef{Name: "zlib1g"}, InstalledVersion: "1.2", Severity: match.Severity{Label: "CRITICAL"}, KEV: &match.KEV{}},
			{ID: "CVE-2024-2", Package: match.PackageRef{Name: "openssl"}, InstalledVersion: "3.0", Severity: match.Severity{Label: "LOW"}},
		},
	}
}

func delivery(id string) sink.Delivery {
	return sink.Delivery{ScanID: id, Tenant: "acme", Result: result("registry.test/app:" + id)}
}

func TestParse(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("https://hooks.slack.test/services/T0/B0/s3cr3t\n"), 0o600)
	t.Setenv("STELLA_SPLUNK_HEC_TOKEN", "hec-token")
	for _, tc := range []struct {
		spec, want, errHas string
	}{
		{"json:dir=" + dir + "/out,keep=5", "json", ""},
		{"slack:url-file=" + secretFile, "slack", ""},
		{"splunk:url=https://splunk.test:8088", "splunk", ""},
		{"webhook:url=https://h.test/x", "", "STELLA_WEBHOOK_SECRET"},
		{"amqp:queue=q", "", "STELLA_AMQP_URL"},
		{"json", "", "dir=DIR is required"},
		{"json:dir=x,keep=0", "", "keep"},
		{"json:dir=x,dir=y", "", "given twice"},
		{"json:dir", "", "not key=value"},
		{"slack:url=https://x", "", "unknown option"},
		{"ftp:host=x", "", "unknown kind"},
		{"splunk:url=file:///etc/passwd", "", "want http(s)"},
		{"slack:url-file=" + filepath.Join(dir, "missing"), "", "url-file"},
	} {
		s, err := sink.Parse(tc.spec)
		if tc.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("Parse(%q) = %v, want an error with %q", tc.spec, err, tc.errHas)
			}
			continue
		}
		if err != nil || s.Name() != tc.want {
			t.Errorf("Parse(%q) = %v, %v", tc.spec, s, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"json:dir=/tmp/x", "slack:url-file=/x", "splunk:url=https://a,token-file=b", "a:b=c,d", ":::", "json:dir=,keep=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		if strings.Contains(spec, "json") {
			return // would create directories
		}
		sink.Parse(spec) // never panics
	})
}

// A loopback server speaking Slack's incoming-webhook format.
func TestSlack(t *testing.T) {
	var got map[string]any
	answer := "ok"
	code := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/services/T0/B0/xyz" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		json.NewDecoder(r.Body).Decode(&got)
		w.WriteHeader(code)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	s := sink.NewSlack(srv.URL + "/services/T0/B0/xyz")
	if err := s.Deliver(t.Context(), delivery("s1")); err != nil {
		t.Fatal(err)
	}
	text, _ := got["text"].(string)
	blocks, _ := got["blocks"].([]any)
	if !strings.Contains(text, "registry.test/app:s1") || !strings.Contains(text, "FAIL") || !strings.Contains(text, "1 critical") || len(blocks) < 3 {
		t.Fatalf("slack message %v", got)
	}
	if b, _ := json.Marshal(blocks); !strings.Contains(string(b), "CVE-2024-1") || !strings.Contains(string(b), "KEV") {
		t.Errorf("blocks lack the top finding or KEV: %s", b)
	}
	// Slack's own errors: a 400 with its reason is permanent, a 500 not.
	code, answer = 400, "invalid_payload"
	err := s.Deliver(t.Context(), delivery("s2"))
	var perm *sink.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), "invalid_payload") || strings.Contains(err.Error(), "xyz") {
		t.Errorf("400: %v", err)
	}
	code, answer = 503, "busy"
	if err := s.Deliver(t.Context(), delivery("s3")); err == nil || errors.As(err, &perm) {
		t.Errorf("503 should be retried: %v", err)
	}
}

// A loopback server speaking Splunk HEC's event endpoint.
type hec struct {
	mu     sync.Mutex
	events map[string]int // scan id -> times received
	fail   int            // answer 503 to this many requests first
}

func (h *hec) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/services/collector/event" || r.Header.Get("Authorization") != "Splunk hec-token" {
		w.WriteHeader(401)
		io.WriteString(w, `{"text":"Invalid token","code":4}`)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail > 0 {
		h.fail--
		w.WriteHeader(503)
		io.WriteString(w, `{"text":"Server is busy","code":9}`)
		return
	}
	var ev struct {
		Time       float64 `json:"time"`
		Host       string  `json:"host"`
		Source     string  `json:"source"`
		Sourcetype string  `json:"sourcetype"`
		Event      struct {
			Summary struct{ ScanID, Verdict string }
			Result  *report.Result
		} `json:"event"`
	}
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Time == 0 || ev.Source != "stella" || ev.Sourcetype != "stella:scan" || ev.Event.Result == nil || ev.Event.Summary.Verdict != "fail" {
		w.WriteHeader(400)
		io.WriteString(w, `{"text":"Invalid data format","code":6}`)
		return
	}
	h.events[ev.Event.Summary.ScanID]++
	io.WriteString(w, `{"text":"Success","code":0}`)
}

func TestSplunk(t *testing.T) {
	h := &hec{events: map[string]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if err := sink.NewSplunk(srv.URL, "hec-token", "").Deliver(t.Context(), delivery("e1")); err != nil || h.events["e1"] != 1 {
		t.Fatalf("deliver: %v, %v", err, h.events)
	}
	var perm *sink.PermanentError
	if err := sink.NewSplunk(srv.URL, "wrong", "").Deliver(t.Context(), delivery("e2")); !errors.As(err, &perm) {
		t.Errorf("bad token: %v", err)
	}
}

func TestWebhookSignature(t *testing.T) {
	secret := []byte("shared-secret")
	var verified, id string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Stella-Signature") == sink.Sign(secret, b) {
			verified = "yes"
		}
		id = r.Header.Get("X-Stella-Delivery")
	}))
	defer srv.Close()
	if err := sink.NewWebhook(srv.URL, secret).Deliver(t.Context(), delivery("w1")); err != nil {
		t.Fatal(err)
	}
	if verified != "yes" || id != "w1" {
		t.Fatalf("signature verified %q, delivery id %q", verified, id)
	}
	if sink.Sign(secret, []byte("a")) == sink.Sign([]byte("other"), []byte("a")) {
		t.Fatal("the signature ignores the secret")
	}
}

func TestJSONFileRotation(t *testing.T) {
	dir := t.TempDir()
	j, err := sink.NewJSONFile(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2", "a3"} {
		if err := j.Deliver(t.Context(), delivery(id)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "a2.json a3.json" {
		t.Fatalf("after rotation: %v", names)
	}
	var back sink.Delivery
	b, _ := os.ReadFile(filepath.Join(dir, "a3.json"))
	if err := json.Unmarshal(b, &back); err != nil || back.Result.Target != "registry.test/app:a3" {
		t.Fatalf("a3.json: %v %+v", err, back)
	}
	var perm *sink.PermanentError
	if err := j.Deliver(t.Context(), delivery("../escape")); !errors.As(err, &perm) {
		t.Fatalf("a path as scan id: %v", err)
	}
}

// HEC is down (503) for a while: results stay in the spool and are
// delivered once, each, when it recovers; a dispatcher started on the
// spool a crashed process left delivers what it held.
func TestDispatcherOutageAndRestart(t *testing.T) {
	h := &hec{events: map[string]int{}, fail: 6}
	srv := httptest.NewServer(h)
	defer srv.Close()
	spool := t.TempDir()
	opts := sink.Options{Spool: spool, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
	d, err := sink.NewDispatcher([]sink.Sink{sink.NewSplunk(srv.URL, "hec-token", "")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	for _, id := range []string{"o1", "o2", "o3"} {
		if err := d.Submit(ctx, delivery(id)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return d.Pending() == 0 }, "the spool to drain after the outage")
	cancel()
	<-done
	h.mu.Lock()
	for _, id := range []string{"o1", "o2", "o3"} {
		if h.events[id] != 1 {
			t.Errorf("%s received %d times", id, h.events[id])
		}
	}
	h.mu.Unlock()
	// A redelivered result (from the queue, say) is not sent again.
	if err := d.Submit(t.Context(), delivery("o1")); err != nil || d.Pending() != 0 {
		t.Fatalf("redelivery spooled again: %v, %d pending", err, d.Pending())
	}

	// Crash with results spooled: the sink is down, the process goes.
	h.mu.Lock()
	h.fail = 1 << 30
	h.mu.Unlock()
	d1, _ := sink.NewDispatcher([]sink.Sink{sink.NewSplunk(srv.URL, "hec-token", "")}, opts)
	d1.Submit(t.Context(), delivery("c1"))
	d1.Flush(t.Context())
	if d1.Pending() != 1 {
		t.Fatalf("pending after a failed attempt: %d", d1.Pending())
	}
	h.mu.Lock()
	h.fail = 0
	h.mu.Unlock()
	d2, err := sink.NewDispatcher([]sink.Sink{sink.NewSplunk(srv.URL, "hec-token", "")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	d2.Flush(t.Context())
	h.mu.Lock()
	defer h.mu.Unlock()
	if d2.Pending() != 0 || h.events["c1"] != 1 {
		t.Fatalf("after restart: %d pending, c1 received %d times", d2.Pending(), h.events["c1"])
	}
}

// A bounded spool refuses rather than filling the disk; a refusal for
// good is set aside, not retried forever.
func TestSpoolFullAndPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(400) }))
	defer srv.Close()
	one, _ := json.Marshal(delivery("p1"))
	limit := int64(len(one) * 3 / 2) // room for one result, not two
	d, err := sink.NewDispatcher([]sink.Sink{sink.NewWebhook(srv.URL, []byte("k"))}, sink.Options{Spool: t.TempDir(), MaxSpoolBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Submit(t.Context(), delivery("p1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Submit(t.Context(), delivery("p2")); !errors.Is(err, sink.ErrSpoolFull) {
		t.Fatalf("second result in a %d-byte spool: %v", limit, err)
	}
	d.Flush(t.Context())
	if d.Pending() != 0 {
		t.Fatalf("a 400 left the entry pending")
	}
	if err := d.Submit(t.Context(), delivery("p2")); err != nil {
		t.Fatalf("the spool did not free the refused entry's space: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
