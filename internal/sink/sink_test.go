package sink_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

	"github.com/prometheus/client_golang/prometheus"

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
		{"json:dir=" + dir + "/out,max-bytes=100M", "json", ""},
		{"json:dir=" + dir + "/out,max-bytes=0", "", "max-bytes"},
		{"json:dir=" + dir + "/out,max-bytes=9999999999G", "", "max-bytes"},
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

// A loopback server speaking Slack's incoming-webhook protocol: POST of
// application/json {"text", "blocks"} to the secret URL path; it answers
// 200 "ok", or an error status with a reason in plain text.
func TestSlack(t *testing.T) {
	type answer struct {
		code int
		body string
	}
	var (
		mu   sync.Mutex
		got  map[string]any
		next = answer{200, "ok"}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/services/T0/B0/xyz" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "no_service")
			return
		}
		got = nil
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "invalid_payload")
			return
		}
		w.WriteHeader(next.code)
		io.WriteString(w, next.body)
	}))
	defer srv.Close()
	s := sink.NewSlack(srv.URL + "/services/T0/B0/xyz")
	if err := s.Deliver(t.Context(), delivery("s1")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	text, _ := got["text"].(string)
	blocks, _ := got["blocks"].([]any)
	mu.Unlock()
	if !strings.Contains(text, "registry.test/app:s1") || !strings.Contains(text, "FAIL") || !strings.Contains(text, "1 critical") || len(blocks) < 3 {
		t.Fatalf("slack message %v", got)
	}
	// Every block is a Block Kit section or context with mrkdwn text.
	for _, b := range blocks {
		m, _ := b.(map[string]any)
		switch m["type"] {
		case "section":
			if txt, _ := m["text"].(map[string]any); txt["type"] != "mrkdwn" || txt["text"] == "" {
				t.Errorf("section block %v", m)
			}
		case "context":
			if els, _ := m["elements"].([]any); len(els) == 0 {
				t.Errorf("context block %v", m)
			}
		default:
			t.Errorf("block type %v", m["type"])
		}
	}
	if b, _ := json.Marshal(blocks); !strings.Contains(string(b), "CVE-2024-1") || !strings.Contains(string(b), "KEV") || !strings.Contains(string(b), "scan s1") {
		t.Errorf("blocks lack the top finding, KEV or scan id: %s", b)
	}

	// A very long image name still fits Block Kit's bounds.
	long := delivery("s4")
	long.Result.Target = strings.Repeat("x", 5000)
	if err := s.Deliver(t.Context(), long); err != nil {
		t.Fatalf("long target: %v", err)
	}
	mu.Lock()
	if txt, _ := got["text"].(string); len([]rune(txt)) > 3000 {
		t.Errorf("text of %d characters", len([]rune(txt)))
	}
	for _, b := range got["blocks"].([]any) {
		if sec, _ := b.(map[string]any)["text"].(map[string]any); sec != nil && len([]rune(sec["text"].(string))) > 3000 {
			t.Errorf("section of %d characters", len([]rune(sec["text"].(string))))
		}
	}
	mu.Unlock()

	// Slack's error answers: a 4xx with its reason is permanent and the
	// error names the reason, never the secret URL path; 429 and 5xx are
	// retried; a 200 that is not "ok" is an error too.
	var perm *sink.PermanentError
	for _, tc := range []struct {
		a         answer
		permanent bool
	}{
		{answer{400, "invalid_payload"}, true},
		{answer{403, "invalid_token"}, true},
		{answer{404, "no_service"}, true},
		{answer{410, "channel_is_archived"}, true},
		{answer{429, "rate_limited"}, false},
		{answer{500, "rollup_error"}, false},
		{answer{503, "busy"}, false},
		{answer{200, "invalid_blocks"}, true},
	} {
		mu.Lock()
		next = tc.a
		mu.Unlock()
		err := s.Deliver(t.Context(), delivery("s2"))
		if err == nil || errors.As(err, &perm) != tc.permanent || !strings.Contains(err.Error(), tc.a.body) || strings.Contains(err.Error(), "xyz") {
			t.Errorf("slack %d %q: error %v (want permanent=%v, naming the reason, not the URL)", tc.a.code, tc.a.body, err, tc.permanent)
		}
	}
}

// A loopback server speaking Splunk HEC's event endpoint.
type hec struct {
	mu     sync.Mutex
	events map[string]int // scan id -> times received
	fail   int            // answer 503 to this many requests first
	status int            // with code: answer this instead
	code   string
	hosts  []string
}

func (h *hec) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/services/collector/event" {
		w.WriteHeader(404)
		io.WriteString(w, `{"text":"The requested URL was not found on this server.","code":404}`)
		return
	}
	switch r.Header.Get("Authorization") {
	case "Splunk hec-token":
	case "":
		w.WriteHeader(401)
		io.WriteString(w, `{"text":"Token is required","code":2}`)
		return
	default:
		w.WriteHeader(403)
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
	if h.code != "" { // a canned answer
		w.WriteHeader(h.status)
		io.WriteString(w, h.code)
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
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.Time < 1e9 || ev.Host == "" || ev.Source != "stella" || ev.Sourcetype != "stella:scan" || ev.Event.Result == nil || ev.Event.Summary.Verdict != "fail" {
		w.WriteHeader(400)
		io.WriteString(w, `{"text":"Invalid data format","code":6}`)
		return
	}
	h.events[ev.Event.Summary.ScanID]++
	h.hosts = append(h.hosts, ev.Host)
	io.WriteString(w, `{"text":"Success","code":0}`)
}

func TestSplunk(t *testing.T) {
	h := &hec{events: map[string]int{}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if err := sink.NewSplunk(srv.URL, "hec-token", "").Deliver(t.Context(), delivery("e1")); err != nil || h.events["e1"] != 1 || h.hosts[0] == "" {
		t.Fatalf("deliver: %v, %v", err, h.events)
	}
	// The full endpoint URL is accepted as well as the base.
	if err := sink.NewSplunk(srv.URL+"/services/collector/event", "hec-token", "").Deliver(t.Context(), delivery("e4")); err != nil || h.events["e4"] != 1 {
		t.Fatalf("full URL: %v, %v", err, h.events)
	}
	var perm *sink.PermanentError
	if err := sink.NewSplunk(srv.URL, "wrong", "").Deliver(t.Context(), delivery("e2")); !errors.As(err, &perm) || !strings.Contains(err.Error(), "Invalid token") {
		t.Errorf("bad token: %v", err)
	}
	// HEC's answers: its error codes in a 4xx are permanent, "Server is
	// busy" (503, code 9) and anything that is not HEC's JSON are retried,
	// a 200 whose code is not 0 is refused.
	for _, tc := range []struct {
		status    int
		body      string
		permanent bool
	}{
		{400, `{"text":"Invalid data format","code":6,"invalid-event-number":0}`, true},
		{400, `{"text":"Incorrect index","code":7,"invalid-event-number":1}`, true},
		{403, `{"text":"Token disabled","code":1}`, true},
		{503, `{"text":"Server is busy","code":9}`, false},
		{500, `{"text":"Internal server error","code":8}`, false},
		{200, `<html>proxy login</html>`, false},
		{200, `{"text":"Data channel is missing","code":10}`, true},
	} {
		h.mu.Lock()
		h.status, h.code = tc.status, tc.body
		h.mu.Unlock()
		err := sink.NewSplunk(srv.URL, "hec-token", "main").Deliver(t.Context(), delivery("e3"))
		if err == nil || errors.As(err, &perm) != tc.permanent {
			t.Errorf("HEC %d %s: %v (want permanent=%v)", tc.status, tc.body, err, tc.permanent)
		}
	}
}

// The receiver verifies the signature the way the docs tell it to: HMAC-
// SHA256 of the raw body with the shared secret, compared in constant time.
func TestWebhookSignature(t *testing.T) {
	secret := []byte("shared-secret")
	verify := func(body []byte, header string) bool {
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		return hmac.Equal([]byte(header), []byte("sha256="+hex.EncodeToString(m.Sum(nil))))
	}
	type req struct {
		verified, tampered bool
		id, ctype          string
		body               sink.Delivery
	}
	got := make(chan req, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sig := r.Header.Get("X-Stella-Signature")
		rq := req{verified: verify(b, sig), id: r.Header.Get("X-Stella-Delivery"), ctype: r.Header.Get("Content-Type")}
		rq.tampered = verify(append(b[:len(b):len(b)], ' '), sig)
		json.Unmarshal(b, &rq.body)
		got <- rq
		if !rq.verified {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	if err := sink.NewWebhook(srv.URL, secret).Deliver(t.Context(), delivery("w1")); err != nil {
		t.Fatal(err)
	}
	rq := <-got
	if !rq.verified || rq.tampered || rq.id != "w1" || rq.ctype != "application/json" || rq.body.ScanID != "w1" || rq.body.Tenant != "acme" || rq.body.Result == nil {
		t.Fatalf("receiver saw %+v", rq)
	}
	// Signed with another secret: the receiver refuses (401), for good.
	var perm *sink.PermanentError
	if err := sink.NewWebhook(srv.URL, []byte("other")).Deliver(t.Context(), delivery("w2")); !errors.As(err, &perm) {
		t.Fatalf("wrong secret: %v", err)
	}
	if rq := <-got; rq.verified {
		t.Fatal("a signature with the wrong secret verified")
	}
}

func TestJSONFileRotation(t *testing.T) {
	dir := t.TempDir()
	j, err := sink.NewJSONFile(dir, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2", "a3"} {
		if err := j.Deliver(t.Context(), delivery(id)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := names(t, dir); got != "a2.json a3.json" {
		t.Fatalf("after rotation by count: %v", got)
	}
	var back sink.Delivery
	b, _ := os.ReadFile(filepath.Join(dir, "a3.json"))
	if err := json.Unmarshal(b, &back); err != nil || back.Result.Target != "registry.test/app:a3" || back.Tenant != "acme" {
		t.Fatalf("a3.json: %v %+v", err, back)
	}
	var perm *sink.PermanentError
	if err := j.Deliver(t.Context(), delivery("../escape")); !errors.As(err, &perm) {
		t.Fatalf("a path as scan id: %v", err)
	}

	// Rotation by size: room for two results, not three; a result larger
	// than the bound is still kept (the newest file always stays).
	dir = t.TempDir()
	one := int64(len(b))
	j, _ = sink.NewJSONFile(dir, 100, 2*one+one/2)
	for _, id := range []string{"b1", "b2", "b3"} {
		if err := j.Deliver(t.Context(), delivery(id)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := names(t, dir); got != "b2.json b3.json" {
		t.Fatalf("after rotation by size: %v", got)
	}
	j, _ = sink.NewJSONFile(dir, 100, 10)
	if err := j.Deliver(t.Context(), delivery("b4")); err != nil || names(t, dir) != "b4.json" {
		t.Fatalf("a result over the bound: %v, %v", err, names(t, dir))
	}
}

// A reader never sees a half-written result: every read while the same
// scan is rewritten parses, and no temp file is left behind.
func TestJSONFileAtomic(t *testing.T) {
	dir := t.TempDir()
	j, _ := sink.NewJSONFile(dir, 10, 0)
	big := delivery("atom")
	for i := range 2000 { // a result of about 300 KB
		big.Result.Findings = append(big.Result.Findings, big.Result.Findings[i%2])
	}
	if err := j.Deliver(t.Context(), big); err != nil {
		t.Fatal(err)
	}
	done, started := make(chan struct{}), make(chan struct{})
	reads := 0
	go func() {
		defer close(done)
		<-started
		for k := 0; k < 20; k++ {
			if err := j.Deliver(t.Context(), big); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			if reads < 2 {
				t.Fatal("no read during the rewrites")
			}
			if got := names(t, dir); got != "atom.json" {
				t.Fatalf("left behind: %v", got)
			}
			return
		default:
		}
		b, err := os.ReadFile(filepath.Join(dir, "atom.json"))
		if err != nil {
			t.Fatalf("read %d: %v", reads, err)
		}
		var d sink.Delivery
		if err := json.Unmarshal(b, &d); err != nil || len(d.Result.Findings) != len(big.Result.Findings) {
			t.Fatalf("read %d saw a partial result (%d bytes): %v", reads, len(b), err)
		}
		if reads++; reads == 1 {
			close(started)
		}
	}
}

func names(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for _, e := range es {
		ns = append(ns, e.Name())
	}
	return strings.Join(ns, " ")
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
	if err := d.Submit(t.Context(), delivery("p2")); !errors.Is(err, sink.ErrSpoolFull) || d.Stats().SpoolFull != 1 {
		t.Fatalf("second result in a %d-byte spool: %v, %+v", limit, err, d.Stats())
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

// Deliver (the sink-worker's path) reports a sink that is down, records
// the ones that took the result so that the next call skips them, keeps
// a refusal for good under failed/ without failing the call, and the
// counters show all of it.
func TestDeliverRecordsPerSink(t *testing.T) {
	h := &hec{events: map[string]int{}, fail: 1 << 30}
	srv := httptest.NewServer(h)
	defer srv.Close()
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
	}))
	defer refuse.Close()
	js, _ := sink.NewJSONFile(t.TempDir(), 10, 0)
	files := &counting{Sink: js, n: map[string]int{}}
	spool := t.TempDir()
	d, err := sink.NewDispatcher([]sink.Sink{files, sink.NewSplunk(srv.URL, "hec-token", ""), sink.NewWebhook(refuse.URL, []byte("k"))},
		sink.Options{Spool: spool, Attempts: 2, MinBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Deliver(t.Context(), delivery("d1"))
	if err == nil || !strings.Contains(err.Error(), "splunk") || strings.Contains(err.Error(), "webhook") {
		t.Fatalf("with splunk down: %v", err)
	}
	if _, err := os.Stat(filepath.Join(spool, "webhook-1", "failed", "d1.json")); err != nil {
		t.Fatalf("the refused result is not kept: %v", err)
	}
	h.mu.Lock()
	h.fail = 0
	h.mu.Unlock()
	if err := d.Deliver(t.Context(), delivery("d1")); err != nil {
		t.Fatal(err)
	}
	if err := d.Deliver(t.Context(), delivery("d1")); err != nil { // a redelivery
		t.Fatal(err)
	}
	h.mu.Lock()
	hecGot := h.events["d1"]
	h.mu.Unlock()
	if files.count("d1") != 1 || hecGot != 1 {
		t.Fatalf("json got d1 %d times, splunk %d times; want once each", files.count("d1"), hecGot)
	}
	if err := d.Deliver(t.Context(), sink.Delivery{ScanID: "../x"}); err == nil {
		t.Fatal("a path as scan id was delivered")
	}

	// The counters, as Prometheus series.
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range m.GetLabel() {
				k += "/" + l.GetValue()
			}
			got[k] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	for k, want := range map[string]float64{
		"stella_sink_delivered_total/json-1": 1, "stella_sink_delivered_total/splunk-1": 1,
		"stella_sink_failures_total/splunk-1": 2, "stella_sink_refused_total/webhook-1": 1,
		"stella_sink_pending": 0, "stella_sink_spool_full_total": 0,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], want, got)
		}
	}
}
