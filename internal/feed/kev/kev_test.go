package kev

import (
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/testutil"
)

func run(t *testing.T, src feed.Source) (map[string]feed.Record, []feed.Problem, error) {
	t.Helper()
	var problems []feed.Problem
	src.OnProblem = func(p feed.Problem) { problems = append(problems, p) }
	out := make(chan feed.Record, 100)
	recs := map[string]feed.Record{}
	done := make(chan struct{})
	go func() {
		for r := range out {
			recs[r.ID] = r
		}
		close(done)
	}()
	err := (&Connector{}).Fetch(context.Background(), src, time.Time{}, out)
	close(out)
	<-done
	return recs, problems, err
}

// Facts from ../shared/testdata/feeds/README.md (kev/).
func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	if len(recs) != 1404 {
		t.Errorf("%d entries, want 1404", len(recs))
	}
	l := recs["CVE-2021-44228"].KEV
	if l == nil || l.Vendor != "Apache" || l.Product != "Log4j2" || l.DateAdded != "2021-12-10" || l.DueDate != "2021-12-24" || l.Ransomware != "Known" {
		t.Errorf("CVE-2021-44228 %+v", l)
	}
	g := recs["CVE-2023-4911"].KEV
	if g == nil || g.Vendor != "GNU" || g.Product != "GNU C Library" || g.DateAdded != "2023-11-21" || g.DueDate != "2023-12-12" {
		t.Errorf("CVE-2023-4911 %+v", g)
	}
	if h := recs["CVE-2023-44487"].KEV; h == nil || h.Vendor != "IETF" || h.Product != "HTTP/2" || h.DateAdded != "2023-10-10" {
		t.Errorf("CVE-2023-44487 %+v", h)
	}
	for _, id := range []string{"CVE-2023-38545", "CVE-2022-42889", "CVE-2021-23337"} {
		if _, ok := recs[id]; ok {
			t.Errorf("%s is not in KEV", id)
		}
	}
}

func TestParseJSONAndCSVAgree(t *testing.T) {
	dir := filepath.Join(testutil.FeedsDir(t), "kev")
	for _, name := range []string{"known_exploited_vulnerabilities.json", "known_exploited_vulnerabilities.csv"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cat, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		recs := map[string]feed.Record{}
		for _, r := range cat.Records {
			recs[r.ID] = r
		}
		checkFacts(t, recs)
		if strings.HasSuffix(name, ".json") && (cat.Version != "2025.08.25" || !cat.Released.Equal(time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC))) {
			t.Errorf("catalog %q %v", cat.Version, cat.Released)
		}
	}
}

func TestMirrorNewestAndBroken(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	m := t.TempDir()
	os.MkdirAll(filepath.Join(m, "kev", "old"), 0o755)
	for _, f := range []string{"kev/known_exploited_vulnerabilities.json", "kev/known_exploited_vulnerabilities.csv", "kev/known_exploited_vulnerabilities_schema.json", "broken/kev/known_exploited_vulnerabilities.json.gz"} {
		b, _ := os.ReadFile(filepath.Join(feeds, f))
		dst := filepath.Join(m, "kev", filepath.Base(f))
		if strings.HasPrefix(f, "broken") {
			dst = filepath.Join(m, "kev", "old", filepath.Base(f))
		}
		os.WriteFile(dst, b, 0o644)
	}
	recs, problems, err := run(t, feed.Source{Mirror: m})
	if err != nil {
		t.Fatal(err)
	}
	checkFacts(t, recs)
	if len(problems) != 1 || !strings.Contains(problems[0].Doc, "known_exploited_vulnerabilities.json.gz") || !strings.Contains(problems[0].Err.Error(), "truncated gzip") {
		t.Fatalf("problems %v", problems)
	}
	// The JSON, with its dateReleased, is preferred over the undated CSV.
	if r := recs["CVE-2021-44228"]; !strings.HasSuffix(r.DocURL, ".json") {
		t.Errorf("chose %s", r.DocURL)
	}
	// Only the broken file: a clear error, not an empty catalog.
	m2 := t.TempDir()
	os.MkdirAll(filepath.Join(m2, "kev"), 0o755)
	b, _ := os.ReadFile(filepath.Join(feeds, "broken/kev/known_exploited_vulnerabilities.json.gz"))
	os.WriteFile(filepath.Join(m2, "kev", "kev.json.gz"), b, 0o644)
	if _, _, err := run(t, feed.Source{Mirror: m2}); err == nil || !strings.Contains(err.Error(), "no readable KEV catalog") {
		t.Fatalf("err = %v", err)
	}
}

func TestOnlineGzipAndETag(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "kev", "known_exploited_vulnerabilities.json"))
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Header.Get("If-None-Match") == `"2025.08.25"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"2025.08.25"`)
		gz := gzip.NewWriter(w)
		gz.Write(b)
		gz.Close()
	}))
	defer srv.Close()
	v := feed.NewValidators(nil)
	recs, _, err := run(t, feed.Source{BaseURL: srv.URL, Validators: v})
	if err != nil {
		t.Fatal(err)
	}
	checkFacts(t, recs)
	recs, _, err = run(t, feed.Source{BaseURL: srv.URL, Validators: v})
	if err != nil || len(recs) != 0 || calls != 2 {
		t.Fatalf("second run: %v, %d records, %d calls", err, len(recs), calls)
	}
}

func FuzzParse(f *testing.F) {
	dir := filepath.Join(testutil.FeedsDir(f), "kev")
	for _, n := range []string{"known_exploited_vulnerabilities.csv", "known_exploited_vulnerabilities_schema.json"} {
		b, _ := os.ReadFile(filepath.Join(dir, n))
		f.Add(b[:min(len(b), 4000)])
	}
	f.Add([]byte(`{"count":1,"vulnerabilities":[{"cveID":"CVE-1-2","dateAdded":"2020-01-01"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := Parse(b); err == nil {
			for _, r := range c.Records {
				if r.KEV == nil || !strings.HasPrefix(r.ID, "CVE-") {
					t.Fatalf("bad record %+v", r)
				}
			}
		}
	})
}
