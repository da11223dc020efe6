package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/testsvc"
	"github.com/stella-scan/stella/internal/testutil"
)

const (
	testSecret   = "0123456789abcdef0123456789abcdef-process-test"
	testIssuer   = "https://idp.test"
	testAudience = "stella-api"
)

// serveArgs are the flags every test gateway gets: the JWT checks.
var serveArgs = []string{"serve", "--jwt-issuer", testIssuer, "--jwt-audience", testAudience}

// proc is a stella process started from the test binary.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{} // closed when the process has exited
	err    error         // its exit, once exited is closed
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs `stella args…` as a child process that is killed when the
// test ends.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1", "STELLA_JWT_SECRET="+testSecret, "STELLA_CACHE="+t.TempDir())
	p := &proc{cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("stella %s output:\n%s", args[0], p.out.String())
		}
	})
	return p
}

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stella-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func token(t *testing.T, tenant, role string) string {
	t.Helper()
	now := time.Now()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "ci", "tenant": tenant, "role": role, "iss": testIssuer, "aud": testAudience,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// processFixture is a vulnerability DB synced from the shared feeds and a
// loopback registry with two fixture images.
type processFixture struct {
	db   string
	refs map[string]string
}

func newProcessFixture(t *testing.T) *processFixture {
	t.Helper()
	shared := analyzetest.SharedDir(t)
	fx := &processFixture{db: filepath.Join(t.TempDir(), "stella.db"), refs: map[string]string{}}
	if out, code := run(t, "db", "sync", "--mirror", filepath.Join(shared, "testdata", "feeds"), "--db", fx.db); code != 0 {
		t.Fatalf("db sync: exit %d: %s", code, out)
	}
	host := testutil.Registry(t)
	for _, img := range []string{"debian-app", "alpine-3.14-apk"} {
		ref := host + "/fixtures/" + img + ":v1"
		if _, err := testutil.PushLayout(filepath.Join(shared, "testdata", "images", img, "oci"), ref); err != nil {
			t.Fatal(err)
		}
		fx.refs[img] = ref
	}
	return fx
}

// waitListening waits for serve's "listening on" line and returns its URL.
func waitListening(t *testing.T, p *proc) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(p.out.String()))
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
				return strings.Fields(rest)[0]
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("stella serve exited: %v\n%s", p.err, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("stella serve did not start:\n%s", p.out.String())
	return ""
}

type apiClient struct {
	t    *testing.T
	base string
	tok  string
	http *http.Client
}

func (c *apiClient) do(method, path string, body any, out any) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type scanView struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Verdict  string `json:"verdict"`
	Attempts int    `json:"attempts"`
	Error    string `json:"error"`
	Result   *struct {
		Findings []json.RawMessage `json:"findings"`
	} `json:"result"`
}

func (c *apiClient) waitDone(id string) scanView {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var s scanView
		if code := c.do("GET", "/api/scans/"+id, nil, &s); code != 200 {
			c.t.Fatalf("GET scan %s: %d", id, code)
		}
		if s.State == store.StateDone || s.State == store.StateFailed {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Fatalf("scan %s not finished in 60s", id)
	return scanView{}
}

// A gateway process with no workers of its own and two `stella worker`
// processes sharing its Redis queue and SQLite store: every scan is run by
// a worker, the gateway streams their events (relayed over Redis), and the
// admission webhook mounted at /api/admission answers over the gateway's
// TLS.
func TestServeWithWorkerProcesses(t *testing.T) {
	fx := newProcessFixture(t)
	redisURL := testsvc.Redis(t)
	data := t.TempDir()
	certFile, keyFile, pool := selfSigned(t)
	port := testsvc.FreePort(t)
	gw := start(t, append(serveArgs, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data", data, "--db", fx.db,
		"--queue", redisURL, "--workers", "0", "--tls-cert", certFile, "--tls-key", keyFile)...)
	base := waitListening(t, gw)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("serve with --tls-cert listens on %s", base)
	}
	// The workers share one layer and image cache in the same Redis.
	for range 2 {
		start(t, "worker", "--queue", redisURL, "--data", data, "--db", fx.db, "--concurrency", "1", "--cache", redisURL)
	}
	c := &apiClient{t: t, base: base, tok: token(t, "acme", "scanner"),
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}

	// Live events, over the gateway's TLS.
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(base, "https://", "wss://", 1)+"/api/events?access_token="+c.tok,
		&websocket.DialOptions{HTTPClient: c.http})
	if err != nil {
		t.Fatalf("websocket: %v", err)
	}
	defer ws.CloseNow()

	var ids, imgs []string
	for _, img := range []string{"debian-app", "alpine-3.14-apk", "debian-app"} {
		var acc struct{ ID string }
		if code := c.do("POST", "/api/scan", map[string]string{"image": fx.refs[img]}, &acc); code != http.StatusAccepted {
			t.Fatalf("POST /api/scan %s: %d", img, code)
		}
		ids, imgs = append(ids, acc.ID), append(imgs, img)
	}
	finished := map[string]bool{}
	for len(finished) < len(ids) {
		var e struct{ Type, ScanID, State, Verdict string }
		if err := wsjson.Read(ctx, ws, &e); err != nil {
			t.Fatalf("events: %v (finished so far %v)", err, finished)
		}
		if e.Type == "scan.failed" {
			t.Fatalf("scan %s failed", e.ScanID)
		}
		if e.Type == "scan.finished" {
			if e.Verdict == "" {
				t.Errorf("finished event of %s without a verdict", e.ScanID)
			}
			finished[e.ScanID] = true
		}
	}
	for i, id := range ids {
		s := c.waitDone(id)
		if s.State != store.StateDone || s.Attempts != 1 || s.Verdict == "" || s.Result == nil {
			t.Fatalf("scan %s of %s = %+v", id, imgs[i], s)
		}
		// debian-app is vulnerable and fails the default policy.
		if imgs[i] == "debian-app" && (len(s.Result.Findings) == 0 || s.Verdict != "fail") {
			t.Fatalf("scan %s of debian-app: %d findings, verdict %s", id, len(s.Result.Findings), s.Verdict)
		}
	}

	// The scans filled the shared cache.
	o, _ := redis.ParseURL(redisURL)
	rc := redis.NewClient(o)
	defer rc.Close()
	if keys, err := rc.Keys(t.Context(), "stella:image/*").Result(); err != nil || len(keys) < 2 {
		t.Errorf("image cache entries in the shared Redis: %v, %v", keys, err)
	}

	// The admission webhook, unauthenticated as the API server calls it.
	review := fmt.Sprintf(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u-1","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"shop","operation":"CREATE","userInfo":{"username":"admin"},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"shop"},"spec":{"containers":[{"name":"app","image":%q}]}}}}`, fx.refs["debian-app"])
	resp, err := c.http.Post(base+"/api/admission", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ar struct {
		Kind     string
		Response struct {
			UID     string
			Allowed bool
			Status  struct{ Message string }
		}
	}
	if err := json.Unmarshal(body, &ar); err != nil || resp.StatusCode != 200 || ar.Response.UID != "u-1" {
		t.Fatalf("admission: %d %s (%v)", resp.StatusCode, body, err)
	}
	// debian-app has fixable critical and high findings: the default
	// policy denies it, citing a finding.
	if ar.Response.Allowed || !strings.Contains(ar.Response.Status.Message, "CVE-") {
		t.Fatalf("admission of debian-app: allowed=%v %q", ar.Response.Allowed, ar.Response.Status.Message)
	}
}

// Scans accepted by a gateway that then died (persisted, queued) are run
// when `stella serve` with its in-process queue starts again, and their
// results reach the configured sink.
func TestServeRequeuesAcceptedScans(t *testing.T) {
	fx := newProcessFixture(t)
	data := t.TempDir()
	st, err := sqlite.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, img := range []string{"debian-app", "alpine-3.14-apk"} {
		s := &store.Scan{ID: fmt.Sprintf("left-%d", i), Tenant: "acme", Target: fx.refs[img], State: store.StateQueued,
			CreatedAt: now, UpdatedAt: now, Request: core.Envelope{Image: fx.refs[img]}.Encode()}
		if err := st.CreateScan(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	// The second was running when the process died.
	s, _ := st.GetScan(t.Context(), "acme", "left-1")
	s.State, s.Attempts = store.StateRunning, 1
	if err := st.UpdateScan(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	st.Close()

	out := t.TempDir()
	gw := start(t, append(serveArgs, "--addr", fmt.Sprintf("127.0.0.1:%d", testsvc.FreePort(t)), "--data", data, "--db", fx.db, "--workers", "1",
		"--sink", "json:dir="+out)...)
	c := &apiClient{t: t, base: waitListening(t, gw), tok: token(t, "acme", "viewer"), http: &http.Client{Timeout: 30 * time.Second}}
	for id, attempts := range map[string]int{"left-0": 1, "left-1": 2} {
		got := c.waitDone(id)
		if got.State != store.StateDone || got.Attempts != attempts || got.Result == nil {
			t.Fatalf("re-queued scan %s = %+v (want done after %d attempts)", id, got, attempts)
		}
		// The JSON file sink got the result.
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, err := os.ReadFile(filepath.Join(out, id+".json"))
			if err == nil && strings.Contains(string(b), `"scanId": "`+id+`"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no result of %s in the JSON file sink: %v", id, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}
