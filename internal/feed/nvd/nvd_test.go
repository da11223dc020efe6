package nvd

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/testutil"
)

// fakeNVD serves the real API pages of ../shared/testdata/feeds/nvd/api-pages
// by startIndex, like services.nvd.nist.gov: it checks the apiKey header and
// the lastMod window, and answers 404 with a "message" header for bad
// parameters, as the service does. fault may replace an answer.
type fakeNVD struct {
	t      *testing.T
	pages  map[int][]byte
	apiKey string
	fault  func(n int, w http.ResponseWriter, r *http.Request) bool

	mu    sync.Mutex
	calls int
	seen  []string
}

func newFakeNVD(t *testing.T) *fakeNVD {
	dir := filepath.Join(testutil.FeedsDir(t), "nvd", "api-pages")
	f := &fakeNVD{t: t, pages: map[int][]byte{}}
	for _, si := range []int{0, 6, 12} {
		name := fmt.Sprintf("cves-2.0-page-%d-startIndex-%d.json", si/6+1, si)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.pages[si] = b
	}
	return f
}

func (f *fakeNVD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.seen = append(f.seen, r.URL.RawQuery)
	f.mu.Unlock()
	if f.apiKey != "" && r.Header.Get("apiKey") != f.apiKey {
		w.Header().Set("message", "Invalid apiKey")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	if s, e := q.Get("lastModStartDate"), q.Get("lastModEndDate"); s != "" || e != "" {
		st, err1 := time.Parse("2006-01-02T15:04:05.000-07:00", s)
		et, err2 := time.Parse("2006-01-02T15:04:05.000-07:00", e)
		if err1 != nil || err2 != nil || et.Sub(st) > MaxWindow || et.Before(st) {
			w.Header().Set("message", "Invalid lastMod date range")
			w.WriteHeader(http.StatusNotFound)
			return
		}
	}
	if rpp, err := strconv.Atoi(q.Get("resultsPerPage")); err != nil || rpp > MaxPageSize {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if f.fault != nil && f.fault(n, w, r) {
		return
	}
	si, _ := strconv.Atoi(q.Get("startIndex"))
	page, ok := f.pages[si]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(page)
}

func fastClient() *feed.Client {
	c := feed.NewClient()
	c.MinBackoff, c.MaxBackoff, c.MaxRetries = time.Millisecond, 5*time.Millisecond, 4
	return c
}

// collect runs Fetch and returns records by id and the problems reported.
func collect(t *testing.T, c feed.Connector, src feed.Source, since time.Time) (map[string]feed.Record, []feed.Problem, error) {
	t.Helper()
	var problems []feed.Problem
	var mu sync.Mutex
	src.OnProblem = func(p feed.Problem) { mu.Lock(); problems = append(problems, p); mu.Unlock() }
	out := make(chan feed.Record)
	recs := map[string]feed.Record{}
	done := make(chan struct{})
	go func() {
		for r := range out {
			if old, ok := recs[r.ID]; !ok || !r.Modified.Before(old.Modified) {
				recs[r.ID] = r
			}
		}
		close(done)
	}()
	err := c.Fetch(context.Background(), src, since, out)
	close(out)
	<-done
	return recs, problems, err
}

func sevs(r feed.Record, typ string) []feed.Severity {
	var out []feed.Severity
	for _, s := range r.Severity {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

func TestAPIPagingAndFacts(t *testing.T) {
	f := newFakeNVD(t)
	f.apiKey = "test-key"
	srv := httptest.NewServer(f)
	defer srv.Close()
	recs, problems, err := collect(t, &Connector{}, feed.Source{BaseURL: srv.URL, APIKey: "test-key", Client: fastClient()}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 || len(recs) != 17 {
		t.Fatalf("%d records, problems %v; want 17 and none", len(recs), problems)
	}
	// Three pages: startIndex 0, 6, 12 (pages hold 6, 6, 5 records).
	if f.calls != 3 || !strings.Contains(f.seen[2], "startIndex=12") {
		t.Fatalf("calls %d: %v", f.calls, f.seen)
	}
	checkFacts(t, recs)
	if r := recs["CVE-2023-38545"]; !strings.HasPrefix(r.DocURL, srv.URL) || !strings.HasPrefix(r.DocDigest, "sha256:") {
		t.Errorf("provenance %q %q", r.DocURL, r.DocDigest)
	}
}

// checkFacts asserts the facts listed in ../shared/testdata/feeds/README.md.
func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	curl := recs["CVE-2023-38545"]
	if curl.Status != "Analyzed" || curl.Withdrawn {
		t.Errorf("CVE-2023-38545 status %q", curl.Status)
	}
	v3 := sevs(curl, "CVSS_V3")
	if len(v3) != 1 || v3[0].Vector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" || v3[0].Score != 9.8 || v3[0].Label != "CRITICAL" || v3[0].Source != "nvd@nist.gov" {
		t.Errorf("CVE-2023-38545 CVSS v3: %+v", v3)
	}
	if !reflect.DeepEqual(curl.CWEs, []string{"CWE-787"}) {
		t.Errorf("CVE-2023-38545 CWEs %v", curl.CWEs)
	}
	found := false
	for _, m := range curl.CPEs {
		if m.Criteria == "cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*" && m.VersionStartIncluding == "7.69.0" && m.VersionEndExcluding == "8.4.0" && m.Vulnerable {
			found = true
		}
	}
	if !found {
		t.Errorf("CVE-2023-38545: libcurl 7.69.0 <= v < 8.4.0 missing: %+v", curl.CPEs)
	}
	if !strings.Contains(curl.Summary, "SOCKS5") {
		t.Errorf("summary %q", curl.Summary)
	}

	text := recs["CVE-2022-42889"]
	if text.Status != "Modified" || !reflect.DeepEqual(text.CWEs, []string{"CWE-94"}) {
		t.Errorf("CVE-2022-42889 status %q CWEs %v", text.Status, text.CWEs)
	}
	found = false
	for _, m := range text.CPEs {
		if strings.HasPrefix(m.Criteria, "cpe:2.3:a:apache:commons_text:*") && m.VersionStartIncluding == "1.5" && m.VersionEndExcluding == "1.10.0" {
			found = true
		}
	}
	if !found {
		t.Errorf("CVE-2022-42889 commons_text range missing")
	}

	lodash := recs["CVE-2021-23337"]
	v3 = sevs(lodash, "CVSS_V3")
	if len(v3) != 2 || v3[0].Source != "report@snyk.io" || v3[1].Source != "nvd@nist.gov" || v3[1].Score != 7.2 || v3[0].Vector != "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H" {
		t.Errorf("CVE-2021-23337 v3: %+v", v3)
	}
	if v2 := sevs(lodash, "CVSS_V2"); len(v2) != 1 || v2[0].Score != 6.5 {
		t.Errorf("CVE-2021-23337 v2: %+v", v2)
	}
	configs := map[int]bool{}
	for _, m := range lodash.CPEs {
		configs[m.Config] = true
		if m.Criteria == "cpe:2.3:a:lodash:lodash:*:*:*:*:*:node.js:*:*" && m.VersionEndExcluding != "4.17.21" {
			t.Errorf("lodash end %q", m.VersionEndExcluding)
		}
	}
	if len(configs) != 4 {
		t.Errorf("CVE-2021-23337: %d configurations, want 4", len(configs))
	}

	rej := recs["CVE-2022-23529"]
	if !rej.Withdrawn || rej.Status != "Rejected" || len(rej.Severity) != 0 || len(rej.URLs) != 0 || !strings.HasPrefix(rej.Summary, "** REJECT **") {
		t.Errorf("CVE-2022-23529: %+v", rej)
	}
	axios := recs["CVE-2023-45857"]
	if axios.Status != "Awaiting Analysis" || len(axios.Severity) != 0 || len(axios.CPEs) != 0 {
		t.Errorf("CVE-2023-45857: %+v", axios)
	}
	glibc := recs["CVE-2023-4911"]
	if len(glibc.Severity) != 1 || glibc.Severity[0].Source != "secalert@redhat.com" || glibc.Severity[0].Score != 7.8 || glibc.Severity[0].Vector != "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H" || len(glibc.CPEs) != 0 {
		t.Errorf("CVE-2023-4911: %+v", glibc.Severity)
	}
	ossl := recs["CVE-2022-3786"]
	found = false
	for _, m := range ossl.CPEs {
		if strings.HasPrefix(m.Criteria, "cpe:2.3:a:openssl:openssl:*") && m.VersionStartIncluding == "3.0.0" && m.VersionEndExcluding == "3.0.7" {
			found = true
		}
	}
	if v3 := sevs(ossl, "CVSS_V3"); !found || len(v3) == 0 || v3[0].Score != 7.5 || !reflect.DeepEqual(ossl.CWEs, []string{"CWE-120"}) {
		t.Errorf("CVE-2022-3786: found %v %+v %v", found, ossl.Severity, ossl.CWEs)
	}
	qs := recs["CVE-2022-24999"]
	var qsN int
	express := false
	for _, m := range qs.CPEs {
		if strings.HasPrefix(m.Criteria, "cpe:2.3:a:qs_project:qs:") {
			qsN++
		}
		if m.Criteria == "cpe:2.3:a:openjsf:express:*:*:*:*:*:node.js:*:*" && m.VersionEndExcluding == "4.17.3" {
			express = true
		}
	}
	if qsN != 9 || !express {
		t.Errorf("CVE-2022-24999: %d qs matches, express %v", qsN, express)
	}
	yaml := recs["CVE-2022-28948"]
	var vuln []string
	for _, m := range yaml.CPEs {
		if m.Vulnerable && strings.Contains(m.Criteria, ":yaml_project:") {
			vuln = append(vuln, m.Criteria+"|"+m.VersionEndExcluding+m.VersionStartIncluding)
		}
	}
	if !reflect.DeepEqual(vuln, []string{"cpe:2.3:a:yaml_project:yaml:3.0.0:*:*:*:*:go:*:*|"}) {
		t.Errorf("CVE-2022-28948 vulnerable CPEs %v", vuln)
	}
	if bp := recs["CVE-2024-45590"]; len(bp.CPEs) == 0 || bp.CPEs[0].VersionEndExcluding != "1.20.3" {
		t.Errorf("CVE-2024-45590 CPEs %+v", bp.CPEs)
	}
	jwt := recs["CVE-2024-51744"]
	if len(jwt.Severity) != 1 || jwt.Severity[0].Score != 3.1 || jwt.Severity[0].Label != "LOW" || len(jwt.CPEs) != 0 {
		t.Errorf("CVE-2024-51744: %+v", jwt.Severity)
	}
}

func TestMirrorMatchesAPI(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	recs, problems, err := collect(t, &Connector{}, feed.Source{Mirror: feeds}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	checkFacts(t, recs)
	// The vunnel fixture page adds 38 real records, first CVE-2023-27314.
	if _, ok := recs["CVE-2023-27314"]; !ok || len(recs) < 17+30 {
		t.Fatalf("%d records; CVE-2023-27314 present: %v", len(recs), ok)
	}
	// records/ and api-pages/ hold the same content: parsed records are equal.
	pageOnly, _, err := collect(t, &Connector{}, feed.Source{Mirror: mirrorOf(t, "nvd/api-pages/cves-2.0-page-1-startIndex-0.json")}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for id, p := range pageOnly {
		b, err := os.ReadFile(filepath.Join(feeds, "nvd", "records", id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseCVE(b)
		if err != nil {
			t.Fatal(err)
		}
		p.DocURL, p.DocDigest, p.FetchedAt = "", "", time.Time{}
		if !reflect.DeepEqual(r, p) {
			t.Errorf("%s: record from page differs from records/", id)
		}
	}
}

// mirrorOf builds a temp mirror DIR/nvd/ holding copies of the named
// feed files (paths relative to the feeds dir).
func mirrorOf(t *testing.T, rels ...string) string {
	t.Helper()
	feeds := testutil.FeedsDir(t)
	dir := t.TempDir()
	for _, rel := range rels {
		b, err := os.ReadFile(filepath.Join(feeds, rel))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "nvd", filepath.Base(rel))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBrokenRecordReportedNotFatal(t *testing.T) {
	m := mirrorOf(t, "broken/nvd/cves-2.0-page-3-record-missing-id-and-published.json")
	recs, problems, err := collect(t, &Connector{}, feed.Source{Mirror: m}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Page 3 holds 5 records; the first (CVE-2023-4911) lost id and published.
	if len(recs) != 4 || len(problems) != 1 || !strings.Contains(problems[0].Doc, "#0") || !strings.Contains(problems[0].Err.Error(), "without a CVE id") {
		t.Fatalf("%d records, problems %v", len(recs), problems)
	}
	if _, ok := recs["CVE-2023-4911"]; ok {
		t.Fatal("broken record emitted")
	}
}

func TestAPIFaults(t *testing.T) {
	invalid := func(b []byte) []byte {
		c := append([]byte(nil), b...)
		i := strings.Index(string(c), "CVE-")
		c[i] = 0xff
		return c
	}
	cases := []struct {
		name    string
		fault   func(n int, w http.ResponseWriter, r *http.Request) bool
		wantErr string // "" : the run recovers
	}{
		{"429 with Retry-After", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 2 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
				return true
			}
			return false
		}, ""},
		{"403 rate limit then 503", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				w.WriteHeader(http.StatusForbidden)
				return true
			}
			if n == 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			return false
		}, ""},
		{"truncated body", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 2 {
				w.Header().Set("Content-Length", "21880")
				w.Write([]byte(`{"resultsPerPage":6,`))
				return true
			}
			return false
		}, ""},
		{"connection dropped mid-page", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 3 {
				conn, buf, _ := w.(http.Hijacker).Hijack()
				buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 14170\r\n\r\n{\"resultsPerPage\":5,\"startIndex\":12,")
				buf.Flush()
				conn.Close()
				return true
			}
			return false
		}, ""},
		{"invalid UTF-8 once", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				w.Write(invalid(newFakeNVD(t).pages[0]))
				return true
			}
			return false
		}, ""},
		{"invalid UTF-8 always", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if strings.Contains(r.URL.RawQuery, "startIndex=6") {
				w.Write(invalid(newFakeNVD(t).pages[6]))
				return true
			}
			return false
		}, "not valid UTF-8"},
		{"503 forever", func(n int, w http.ResponseWriter, r *http.Request) bool {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}, "HTTP 503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeNVD(t)
			f.fault = tc.fault
			srv := httptest.NewServer(f)
			defer srv.Close()
			recs, _, err := collect(t, &Connector{}, feed.Source{BaseURL: srv.URL, Client: fastClient()}, time.Time{})
			if tc.wantErr == "" {
				if err != nil || len(recs) != 17 {
					t.Fatalf("err %v, %d records", err, len(recs))
				}
				checkFacts(t, recs)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), srv.URL) {
				t.Fatalf("err = %v, want %q naming the URL", err, tc.wantErr)
			}
		})
	}
}

func TestIncrementalWindows(t *testing.T) {
	f := newFakeNVD(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	c := &Connector{Now: func() time.Time { return now }}
	since := now.Add(-200 * 24 * time.Hour)
	_, _, err := collect(t, c, feed.Source{BaseURL: srv.URL, Client: fastClient()}, since)
	if err != nil {
		t.Fatal(err)
	}
	// 200 days = two windows (120 + 80 days), each paged over 3 pages.
	windows := map[string]bool{}
	for _, q := range f.seen {
		if !strings.Contains(q, "lastModStartDate=") || !strings.Contains(q, "lastModEndDate=") {
			t.Fatalf("request without a window: %s", q)
		}
		windows[q[strings.Index(q, "lastModEndDate="):strings.Index(q, "&lastModStartDate")]] = true
	}
	if len(windows) != 2 || f.calls != 6 {
		t.Fatalf("%d windows in %d calls: %v", len(windows), f.calls, f.seen)
	}
	if ws := Windows(since, now); ws[0][1].Sub(ws[0][0]) != MaxWindow || !ws[1][1].Equal(now) {
		t.Fatalf("windows %v", ws)
	}
}

func FuzzParseItem(f *testing.F) {
	dir := filepath.Join(testutil.FeedsDir(f), "nvd", "records")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"cve":{"id":"CVE-1-1","published":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseItem(b)
		if err == nil && !strings.HasPrefix(r.ID, "CVE-") {
			t.Fatalf("accepted id %q", r.ID)
		}
		_, _ = mirrorItems(b)
		_, _ = ParsePage(b)
	})
}
