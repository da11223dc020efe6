package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/testsvc"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantQuota429(t *testing.T, what string, code int, h http.Header, body []byte) {
	t.Helper()
	if code != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429: %s", what, code, body)
	}
	s, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || s < 1 || s > 86400 {
		t.Errorf("%s: Retry-After %q", what, h.Get("Retry-After"))
	}
}

// TestQuotaMemory: one gateway, counters in memory.
func TestQuotaMemory(t *testing.T) {
	g := newGateway(t, gwOptions{quota: server.QuotaConfig{RequestsPerMinute: 4}})
	tok := g.token("a", "acme", server.RoleViewer)
	for i := range 4 {
		if code, _, body := g.do("GET", "/api/scans", tok, nil); code != 200 {
			t.Fatalf("request %d: %d %s", i+1, code, body)
		}
	}
	code, h, body := g.do("GET", "/api/scans", tok, nil)
	wantQuota429(t, "5th request", code, h, body)
	// Another tenant has its own quota.
	if code, _, _ := g.do("GET", "/api/scans", g.token("b", "globex", server.RoleViewer), nil); code != 200 {
		t.Errorf("other tenant: %d", code)
	}
}

// TestQuotaRedisTwoGateways: two gateway processes sharing one
// redis-server enforce one request rate and one daily scan quota per
// tenant between them.
func TestQuotaRedisTwoGateways(t *testing.T) {
	fx := registryFixtures(t)
	url := testsvc.Redis(t)
	newCounter := func() server.Counter {
		c, closeFn, err := server.OpenRedisCounter(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeFn() })
		return c
	}
	a := newGateway(t, gwOptions{quota: server.QuotaConfig{Counter: newCounter(), RequestsPerMinute: 6, ScansPerDay: 2}})
	b := newGateway(t, gwOptions{quota: server.QuotaConfig{Counter: newCounter(), RequestsPerMinute: 6, ScansPerDay: 2}})
	tok := a.token("alice", "acme", server.RoleScanner)

	// Daily scans: one on each gateway, the third (on either) is refused.
	a.postScan(tok, map[string]string{"image": fx.refs["debian-app"]})
	b.postScan(tok, map[string]string{"image": fx.refs["debian-app"]})
	code, h, body := a.do("POST", "/api/scan", tok, map[string]string{"image": fx.refs["debian-app"]})
	wantQuota429(t, "third scan of the day", code, h, body)
	if ra, _ := strconv.Atoi(h.Get("Retry-After")); ra > 86400 {
		t.Errorf("Retry-After %d beyond the day", ra)
	}

	// Rate: three requests so far on acme's minute; three more pass
	// across both gateways, the seventh is refused on either. (The window
	// is the wall-clock minute: when it rolls over mid-test, retry once.)
	for attempt := 0; ; attempt++ {
		n := 0
		var last int
		var lh http.Header
		var lb []byte
		for i := range 7 {
			gw := a
			if i%2 == 1 {
				gw = b
			}
			last, lh, lb = gw.do("GET", "/api/scans", tok, nil)
			if last == 200 {
				n++
			}
		}
		if last == http.StatusTooManyRequests && n <= 6 {
			wantQuota429(t, "rate", last, lh, lb)
			break
		}
		if attempt == 1 {
			t.Fatalf("rate across two gateways: %d accepted, last %d", n, last)
		}
	}
	// The counters live in Redis, shared: a third gateway sees them too.
	c := newGateway(t, gwOptions{quota: server.QuotaConfig{Counter: newCounter(), RequestsPerMinute: 6, ScansPerDay: 2}})
	code, h, body = c.do("POST", "/api/scan", tok, map[string]string{"image": fx.refs["debian-app"]})
	if code != http.StatusTooManyRequests {
		t.Errorf("third gateway: %d %s", code, body)
	}
}
