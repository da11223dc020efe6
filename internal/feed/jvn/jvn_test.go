package jvn

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/feedtest"
	"github.com/stella-scan/stella/internal/testutil"
)

func collect(t *testing.T, src feed.Source, since time.Time) (map[string]feed.Record, []feed.Problem) {
	t.Helper()
	return feedtest.Collect(t, New(), src, since)
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Time{})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	// Detail JVNDB-2022-000097 lists three CVEs.
	d := recs["JVNDB-2022-000097"]
	if !slices.Equal(d.Aliases, []string{"CVE-2022-41993", "CVE-2022-46287", "CVE-2022-46288", "JVN#96321933"}) {
		t.Errorf("JVNDB-2022-000097 aliases = %v", d.Aliases)
	}
	if d.Summary != "電子入札コアシステムにおける複数の脆弱性" || !slices.Equal(d.CWEs, []string{"CWE-79", "CWE-20"}) {
		t.Errorf("JVNDB-2022-000097 title %q CWEs %v", d.Summary, d.CWEs)
	}
	if len(d.Severity) != 2 || d.Severity[1].Vector != "CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N" || d.Severity[1].Score != 6.1 || d.Severity[0].Type != "CVSS_V2" {
		t.Errorf("JVNDB-2022-000097 severity = %+v", d.Severity)
	}
	if !d.Published.Equal(time.Date(2022, 12, 15, 3, 4, 51, 0, time.UTC)) {
		t.Errorf("published %v", d.Published)
	}
	// RSS data feed: first item JVNDB-2023-028579, CVE-2023-29001, 7.5 HIGH, CWE-674;
	// "2025-04-11T23:52+09:00" has no seconds.
	r := recs["JVNDB-2023-028579"]
	if !slices.Equal(r.Aliases, []string{"CVE-2023-29001"}) || !slices.Equal(r.CWEs, []string{"CWE-674"}) ||
		len(r.Severity) != 1 || r.Severity[0].Score != 7.5 || r.Severity[0].Label != "HIGH" ||
		!r.Published.Equal(time.Date(2025, 4, 11, 14, 52, 0, 0, time.UTC)) {
		t.Errorf("JVNDB-2023-028579 = %+v", r)
	}
	// The OKA JSON examples contain the placeholder JVNDB-2025-000000 with a CVSS v4 vector.
	p := recs["JVNDB-2025-000000"]
	if len(p.Severity) != 3 || p.Severity[0].Type != "CVSS_V4" || p.Severity[0].Score != 9.5 {
		t.Errorf("JVNDB-2025-000000 severity = %+v", p.Severity)
	}
	// JVNDB-2025-002884 arrives from the XML overview and the JSON; merged.
	m := recs["JVNDB-2025-002884"]
	if !slices.Equal(m.Aliases, []string{"CVE-2025-23120", "JVNVU#99709964"}) || !slices.Equal(m.CWEs, []string{"CWE-502"}) {
		t.Errorf("JVNDB-2025-002884 = aliases %v CWEs %v", m.Aliases, m.CWEs)
	}
	if len(recs) != 8 {
		t.Errorf("%d records, want 8 (4 RSS, 2 overview, 1 detail, 1 placeholder)", len(recs))
	}
}

func TestParseErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"MyJVN error":  `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:sec="http://jvn.jp/rss/mod_sec/3.0/" xmlns:status="http://jvndb.jvn.jp/myjvn/Status"><status:Status retCd="1" errCd="E123" errMsg="bad parameter"/></rdf:RDF>`,
		"not MyJVN":    `<html></html>`,
		"broken JSON":  `{"feed": {"entry": [`,
		"JSON no feed": `{"a": 1}`,
		"truncated":    `<?xml version="1.0"?><VULDEF-Document><Vulinfo><VulinfoID>JVNDB-1`,
	} {
		if _, err := Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestHTTP pages getVulnOverviewList like the MyJVN API: the real first
// page (totalRes 6, 2 returned) then a failing second page, which is a
// problem that keeps the first page's records.
func TestHTTP(t *testing.T) {
	page1, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "jvn/myjvn-examples/hnd/getVulnOverviewList_hnd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		q := r.URL.Query()
		if r.URL.Path != "/myjvn" || q.Get("method") != "getVulnOverviewList" {
			http.NotFound(w, r)
			return
		}
		if q.Get("startItem") == "1" {
			w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
			w.Write(page1)
			return
		}
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	client := feed.NewClient()
	client.MinBackoff, client.MaxBackoff, client.MaxRetries = 2*time.Millisecond, 5*time.Millisecond, 2
	since := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	recs, problems := collect(t, feed.Source{BaseURL: srv.URL, Client: client}, since)
	if len(recs) != 2 || !slices.Contains(recs["JVNDB-2025-002953"].Aliases, "CVE-2025-31084") {
		t.Errorf("records = %v", recs)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Doc, "startItem=3") {
		t.Errorf("problems = %v, want the startItem=3 page", problems)
	}
	if !strings.Contains(queries[0], "dateLastUpdatedStartY=2025") || !strings.Contains(queries[0], "dateLastUpdatedStartM=04") {
		t.Errorf("first query %q lacks the since window", queries[0])
	}
}

func FuzzParse(f *testing.F) {
	dir := filepath.Join(testutil.FeedsDir(f), "jvn/myjvn-examples")
	for _, rel := range []string{"hnd/dataFeed_jvndb_rss_hnd.xml", "hnd/getVulnDetailInfo_hnd_JVNDB-2022-000097.xml", "oka/getVulnOverviewList_oka.json", "hnd/getAlertList_hnd.xml"} {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range d.Records {
			if r.ID == "" {
				t.Fatal("record without id")
			}
		}
	})
}
