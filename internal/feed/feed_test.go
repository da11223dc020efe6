package feed

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/testutil"
)

func fastClient() *Client {
	c := NewClient()
	c.MinBackoff = time.Millisecond
	c.MaxBackoff = 5 * time.Millisecond
	c.MaxRetries = 3
	return c
}

func TestWalkBrokenReportsAndGoesOn(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	var problems []Problem
	src := Source{Mirror: feeds, OnProblem: func(p Problem) { problems = append(problems, p) }}
	var docs []Doc
	err := src.Walk(context.Background(), "broken", nil, func(d Doc) error {
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range problems {
		got[filepath.Base(p.Doc)] = p.Err.Error()
	}
	// The truncated gzip of the KEV catalog: gzip -t says "unexpected end of file".
	if e, ok := got["known_exploited_vulnerabilities.json.gz"]; !ok || !strings.Contains(e, "truncated gzip") {
		t.Errorf("truncated kev gzip: problem %q, want a truncated-gzip report (all: %v)", e, got)
	}
	// The Go all.zip with one flipped byte in its first member: bad CRC.
	if e, ok := got["Go-all.bad-crc.zip!GHSA-qppj-fm5r-hxr3.json"]; !ok || !strings.Contains(e, "corrupt zip member") {
		t.Errorf("bad-crc zip member: problem %q (all: %v)", e, got)
	}
	// The other 22 members of that zip are intact and still read, and the
	// two JSON files (invalid UTF-8, missing id) are read as documents:
	// judging their content is the connectors' job.
	var members, json int
	for _, d := range docs {
		if strings.Contains(d.Path, "Go-all.bad-crc.zip!") {
			members++
		}
		if d.Kind == KindJSON && !strings.Contains(d.Path, "!") {
			json++
		}
		if !strings.HasPrefix(d.Digest, "sha256:") || len(d.Digest) != 71 {
			t.Errorf("%s: digest %q", d.Path, d.Digest)
		}
	}
	if members != 22 {
		t.Errorf("read %d intact members of the bad-crc zip, want 22", members)
	}
	if json != 2 {
		t.Errorf("read %d plain JSON documents, want 2", json)
	}
}

func TestWalkRecognisesZipByContent(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	src := Source{Mirror: feeds}
	n := 0
	err := src.Walk(context.Background(), "osv", func(rel string) bool { return rel == "Go/all.zip" }, func(d Doc) error {
		n++
		if d.Kind != KindJSON {
			t.Errorf("%s: kind %s", d.Path, d.Kind)
		}
		return nil
	})
	if err != nil || n != 23 {
		t.Fatalf("all.zip: %d members, err %v; want 23", n, err)
	}
}

func TestDecompressBoundAndFormats(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	f, err := os.Open(filepath.Join(feeds, "kev", "known_exploited_vulnerabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := Decompress(f, 1000); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("want a limit error, got %v", err)
	}
}

func TestNewest(t *testing.T) {
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	files := []File{
		{Rel: "epss_scores-2025-02-20.csv.gz", ModTime: old},
		{Rel: "epss_scores-2025-03-01.csv", ModTime: old},
		{Rel: "epss_scores-2024-12-31.csv.gz", ModTime: old.Add(1000 * time.Hour)},
	}
	got := Newest(files, func(File) string { return "epss" })
	if len(got) != 1 || got[0].Rel != "epss_scores-2025-03-01.csv" {
		t.Fatalf("Newest = %v", got)
	}
	ByNewest(files)
	if files[2].Rel != "epss_scores-2024-12-31.csv.gz" {
		t.Fatalf("ByNewest = %v", files)
	}
}

func TestClientRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 2:
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		case 3: // truncated body: promise 100 bytes, send 10, close
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("0123456789"))
		default:
			w.Header().Set("ETag", `"v1"`)
			fmt.Fprint(w, `{"ok":true}`)
		}
	}))
	defer srv.Close()
	v := NewValidators(nil)
	res, err := fastClient().Get(context.Background(), srv.URL+"/x", nil, v)
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Body) != `{"ok":true}` || calls.Load() != 4 {
		t.Fatalf("body %q after %d calls", res.Body, calls.Load())
	}
	if etag, _ := v.Get(srv.URL + "/x"); etag != `"v1"` {
		t.Fatalf("etag %q", etag)
	}
}

func TestClientGivesUpClearly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := fastClient().Get(context.Background(), srv.URL+"/feed", nil, nil)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || !strings.Contains(err.Error(), srv.URL+"/feed") || !strings.Contains(err.Error(), "4 attempts") {
		t.Fatalf("err = %v", err)
	}
	// 404 is not retried.
	var n atomic.Int32
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.NotFound(w, r)
	}))
	defer srv2.Close()
	if _, err := fastClient().Get(context.Background(), srv2.URL, nil, nil); err == nil || n.Load() != 1 {
		t.Fatalf("404: err %v after %d calls", err, n.Load())
	}
}

func TestClientConditional(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"abc"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"abc"`)
		fmt.Fprint(w, "data")
	}))
	defer srv.Close()
	v := NewValidators(nil)
	c := fastClient()
	if r, err := c.Get(context.Background(), srv.URL, nil, v); err != nil || r.NotModified {
		t.Fatal(err)
	}
	if r, err := c.Get(context.Background(), srv.URL, nil, v); err != nil || !r.NotModified {
		t.Fatalf("second get: %v %+v", err, r)
	}
}

func TestClientBodyLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 5000))
	}))
	defer srv.Close()
	c := fastClient()
	c.MaxBody = 100
	if _, err := c.Get(context.Background(), srv.URL, nil, nil); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("7", time.Minute); d != 7*time.Second {
		t.Fatal(d)
	}
	if d := retryAfter("99999", time.Minute); d != time.Minute {
		t.Fatal(d)
	}
	if d := retryAfter(time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat), time.Minute); d < 28*time.Second || d > 31*time.Second {
		t.Fatal(d)
	}
}
