// Command benchserve measures the full server stack for `make bench`: a
// real `stella serve` process (auth and quotas on, in-process queue and
// workers, layer cache) scanning an image from a registry on loopback.
// It prints warm scans per second with p50/p95/p99 latency (POST /api/scan
// until the scan.finished event), API requests per second on GET
// /api/scans/{id}, and the server's peak RSS. Loopback only, bounded in
// time.
//
//	go run ./scripts/benchserve -stella bin/stella -db DB -image DIR/oci
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/stella-scan/stella/internal/testutil"
)

const secret = "benchserve-secret-0123456789abcdef0123456789"

func main() {
	stella := flag.String("stella", "bin/stella", "stella binary")
	db := flag.String("db", "", "vulnerability DB")
	image := flag.String("image", "", "OCI layout of the image to scan")
	scans := flag.Int("scans", 200, "warm scans to run")
	conc := flag.Int("c", 4, "concurrent clients")
	reqFor := flag.Duration("requests-for", 3*time.Second, "how long to measure GET requests")
	flag.Parse()
	if *db == "" || *image == "" {
		log.Fatal("benchserve: -db and -image are required")
	}

	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	ref := strings.TrimPrefix(reg.URL, "http://") + "/bench/image:v1"
	if _, err := testutil.PushLayout(*image, ref); err != nil {
		log.Fatal(err)
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	data, _ := os.MkdirTemp("", "benchserve-")
	defer os.RemoveAll(data)
	cmd := exec.Command(*stella, "serve", "--addr", addr, "--data", data, "--db", *db, "--cache", data+"/cache",
		"--jwt-issuer", "bench", "--jwt-audience", "stella", "--rate-limit", "1000000", "--scans-per-day", "1000000", "--workers", "2")
	cmd.Env = append(os.Environ(), "STELLA_JWT_SECRET="+secret)
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	for i := 0; ; i++ {
		if r, err := http.Get(base + "/readyz"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			break
		}
		if i > 300 {
			log.Fatalf("stella serve did not become ready:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	now := time.Now()
	tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "bench", "tenant": "bench", "role": "scanner",
		"iss": "bench", "aud": "stella", "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(secret))
	c := &client{base: base, tok: tok, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/events?access_token="+tok, nil)
	if err != nil {
		log.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	var mu sync.Mutex
	waiting := map[string]chan string{}
	go func() {
		for {
			var e struct{ Type, ScanID string }
			if err := wsjson.Read(ctx, ws, &e); err != nil {
				return
			}
			if e.Type != "scan.finished" && e.Type != "scan.failed" {
				continue
			}
			mu.Lock()
			ch := waiting[e.ScanID]
			mu.Unlock()
			if ch != nil {
				ch <- e.Type
			}
		}
	}()
	scan := func() time.Duration {
		t0 := time.Now()
		ch := make(chan string, 1)
		id := c.post(ref)
		mu.Lock()
		waiting[id] = ch
		mu.Unlock()
		// The event may have come before we registered: check once.
		var typ string
		select {
		case typ = <-ch:
		case <-time.After(50 * time.Millisecond):
			if st := c.state(id); st == "done" || st == "failed" {
				typ = "scan." + st
			} else {
				typ = <-ch
			}
		}
		if typ != "scan.finished" && typ != "scan.done" {
			log.Fatalf("scan %s: %s", id, typ)
		}
		return time.Since(t0)
	}

	scan() // cold: fills the layer and image caches
	var lat []time.Duration
	var lmu sync.Mutex
	var next atomic.Int64
	t0 := time.Now()
	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*scans) {
				d := scan()
				lmu.Lock()
				lat = append(lat, d)
				lmu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	fmt.Printf("%-34s %d scans, %d clients: %.1f scans/s; p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n",
		"warm scans through the API", len(lat), *conc, float64(len(lat))/wall.Seconds(), pct(0.5), pct(0.95), pct(0.99))

	// Plain API requests (auth and quota checks on each).
	id := c.post(ref)
	var n atomic.Int64
	var rl []time.Duration
	stop := time.Now().Add(*reqFor)
	t0 = time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				s := time.Now()
				c.state(id)
				d := time.Since(s)
				n.Add(1)
				lmu.Lock()
				rl = append(rl, d)
				lmu.Unlock()
			}
		}()
	}
	wg.Wait()
	slices.Sort(rl)
	rp := func(p float64) float64 { return float64(rl[int(p*float64(len(rl)-1))].Microseconds()) / 1000 }
	fmt.Printf("%-34s %.0f req/s (8 clients); p50 %.2f ms, p95 %.2f ms, p99 %.2f ms\n", "GET /api/scans/{id}",
		float64(n.Load())/time.Since(t0).Seconds(), rp(0.5), rp(0.95), rp(0.99))
	fmt.Printf("%-34s %s\n", "stella serve peak RSS", peakRSS(cmd.Process.Pid))
}

type client struct {
	base, tok string
	http      *http.Client
}

func (c *client) req(method, path string, body any) []byte {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	r, _ := http.NewRequest(method, c.base+path, rd)
	r.Header.Set("Authorization", "Bearer "+c.tok)
	resp, err := c.http.Do(r)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		log.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

func (c *client) post(ref string) string {
	var acc struct{ ID string }
	json.Unmarshal(c.req("POST", "/api/scan", map[string]string{"image": ref}), &acc)
	return acc.ID
}

func (c *client) state(id string) string {
	var s struct{ State string }
	json.Unmarshal(c.req("GET", "/api/scans/"+id, nil), &s)
	return s.State
}

func peakRSS(pid int) string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
