package redhat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

func hasFix(r feed.Record, distro, release, pkg, fixed string) bool {
	for _, a := range r.Affected {
		if a.Distro == distro && a.Release == release && a.Package == pkg && a.FixedVersion == fixed && a.State == feed.StateFixed && a.Ecosystem == "rpm" {
			return true
		}
	}
	return false
}

func checkRHSA(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	r, ok := recs["RHSA-2024:6163"]
	if !ok {
		t.Fatalf("no RHSA-2024:6163 among %v", len(recs))
	}
	if !slices.Equal(r.Aliases, []string{"CVE-2024-8088"}) || !slices.Equal(r.CWEs, []string{"CWE-835"}) {
		t.Errorf("RHSA-2024:6163 aliases %v CWEs %v", r.Aliases, r.CWEs)
	}
	// document.aggregate_severity.text "Moderate"; the CVE's CVSS 3.1 vector.
	var moderate, vector bool
	for _, s := range r.Severity {
		moderate = moderate || (s.Type == "" && s.Label == "Moderate")
		vector = vector || (s.Vector == "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H" && s.Score == 5.3)
	}
	if !moderate || !vector {
		t.Errorf("RHSA-2024:6163 severity = %+v", r.Severity)
	}
	// Three RHEL 9 repositories, one source RPM: one affected entry.
	if len(r.Affected) != 1 || !hasFix(r, "rhel", "9", "python3.9", "3.9.18-3.el9_4.5") {
		t.Errorf("RHSA-2024:6163 affected = %+v", r.Affected)
	}
	if !hasFix(recs["RHSA-2024:9371"], "rhel", "9", "python3.9", "3.9.19-8.el9") {
		t.Errorf("RHSA-2024:9371 affected = %+v", recs["RHSA-2024:9371"].Affected)
	}
}

func checkHydra(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	h := recs["CVE-2024-8088"]
	// threat_severity "Moderate", cvss3 vector.
	if len(h.Severity) != 2 || h.Severity[0].Label != "Moderate" || h.Severity[1].Vector != "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:N/I:N/A:H" || h.Severity[1].Score != 5.3 {
		t.Errorf("CVE-2024-8088 severity = %+v", h.Severity)
	}
	if !slices.Equal(h.Aliases, []string{"RHSA-2024:6163", "RHSA-2024:9371"}) {
		t.Errorf("CVE-2024-8088 aliases = %v", h.Aliases)
	}
	if !hasFix(h, "rhel", "9", "python3.9", "3.9.18-3.el9_4.5") || !hasFix(h, "rhel", "9", "python3.9", "3.9.19-8.el9") {
		t.Errorf("CVE-2024-8088 affected = %+v", h.Affected)
	}
	b := recs["CVE-2021-25220"]
	// "bind-32:9.11.4-26.P2.el7_9.13" for RHEL 7 (RHSA-2023:0402): the epoch is kept.
	if !hasFix(b, "rhel", "7", "bind", "32:9.11.4-26.P2.el7_9.13") || !slices.Contains(b.Aliases, "RHSA-2023:0402") || !slices.Equal(b.CWEs, []string{"CWE-444"}) {
		t.Errorf("CVE-2021-25220 = aliases %v CWEs %v affected %+v", b.Aliases, b.CWEs, b.Affected)
	}
	if !hasFix(b, "rhel", "8", "bind9.16", "32:9.16.23-0.9.el8.1") {
		t.Errorf("CVE-2021-25220 lacks RHEL 8 bind9.16: %+v", b.Affected)
	}
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Time{})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkRHSA(t, recs)
	checkHydra(t, recs)
	if len(recs) != 4 {
		t.Errorf("%d records, want 4", len(recs))
	}
}

func TestSplitNEVR(t *testing.T) {
	for in, want := range map[string][2]string{
		"python3.9-0:3.9.18-3.el9_4.5":      {"python3.9", "3.9.18-3.el9_4.5"},
		"bind-32:9.8.2-0.68.rc1.el6_10.17":  {"bind", "32:9.8.2-0.68.rc1.el6_10.17"},
		"java-11-openjdk-1:11.0.20-1.el8_8": {"java-11-openjdk", "1:11.0.20-1.el8_8"},
	} {
		n, evr, ok := splitNEVR(in)
		if !ok || n != want[0] || evr != want[1] {
			t.Errorf("splitNEVR(%q) = %q %q %v", in, n, evr, ok)
		}
	}
	for _, bad := range []string{"", "bind", "-1-2", "a-b"} {
		if _, _, ok := splitNEVR(bad); ok {
			t.Errorf("splitNEVR(%q) accepted", bad)
		}
	}
}

// TestHTTP serves the real documents the way security.access.redhat.com
// does: a provider-metadata.json (written here; none is in the test data)
// naming the advisories directory, index.txt, changes.csv and .sha256 files
// computed from the real bytes (Red Hat publishes them); no signatures.
// The Security Data API answers the CVE list and the per-CVE documents.
func TestHTTP(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	advisories := map[string]string{
		"2024/rhsa-2024_6163.json": "redhat/csaf/v2/advisories/2024/rhsa-2024_6163.json",
		"2024/rhsa-2024_9371.json": "redhat/csaf/v2/advisories/2024/rhsa-2024_9371.json",
	}
	var srv *httptest.Server
	var mu sync.Mutex
	hits := map[string]int{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		const adv = "/data/csaf/v2/advisories/"
		switch p := r.URL.Path; {
		case p == "/data/csaf/v2/provider-metadata.json":
			fmt.Fprintf(w, `{"canonical_url": "https://security.access.redhat.com/data/csaf/v2/provider-metadata.json",
"distributions": [{"directory_url": "https://security.access.redhat.com/data/csaf/v2/advisories/"}],
"last_updated": "2026-03-26T19:00:00Z", "metadata_version": "2.0", "role": "csaf_trusted_provider",
"publisher": {"category": "vendor", "name": "Red Hat Product Security", "namespace": "https://www.redhat.com"}}`)
		case p == adv+"index.txt":
			fmt.Fprint(w, "2024/rhsa-2024_6163.json\n2024/rhsa-2024_9371.json\n")
		case p == adv+"changes.csv":
			fmt.Fprint(w, "\"2024/rhsa-2024_6163.json\",\"2026-03-26T18:50:03+00:00\"\n\"2024/rhsa-2024_9371.json\",\"2026-03-26T18:50:14+00:00\"\n")
		case strings.HasPrefix(p, adv):
			rel := strings.TrimPrefix(p, adv)
			file, ok := advisories[strings.TrimSuffix(rel, ".sha256")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			data, err := os.ReadFile(filepath.Join(feeds, file))
			if err != nil {
				t.Error(err)
				return
			}
			if strings.HasSuffix(rel, ".sha256") {
				sum := sha256.Sum256(data)
				fmt.Fprintf(w, "%s  %s\n", hex.EncodeToString(sum[:]), filepath.Base(file))
				return
			}
			w.Write(data)
		case p == "/hydra/rest/securitydata/cve.json":
			if r.URL.Query().Get("after") != "2024-01-01" || r.URL.Query().Get("page") != "1" {
				w.Write([]byte("[]"))
				return
			}
			fmt.Fprintf(w, `[{"CVE": "CVE-2024-8088", "severity": "moderate", "resource_url": "https://access.redhat.com/hydra/rest/securitydata/cve/CVE-2024-8088.json"},
{"CVE": "CVE-2021-25220", "severity": "moderate", "resource_url": "https://access.redhat.com/hydra/rest/securitydata/cve/CVE-2021-25220.json"}]`)
		case strings.HasPrefix(p, "/hydra/rest/securitydata/cve/"):
			name := strings.ToLower(strings.TrimPrefix(p, "/hydra/rest/securitydata/cve/"))
			http.ServeFile(w, r, filepath.Join(feeds, "redhat/hydra", name))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	client := feed.NewClient()
	client.MinBackoff, client.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	recs, problems := collect(t, feed.Source{BaseURL: srv.URL, Client: client}, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	checkRHSA(t, recs)
	checkHydra(t, recs)
	unsigned := 0
	for _, p := range problems {
		if strings.Contains(p.Err.Error(), "no .asc") {
			unsigned++
		} else {
			t.Errorf("unexpected problem %v", p)
		}
	}
	if unsigned != 2 {
		t.Errorf("%d unsigned problems, want 2", unsigned)
	}
	if hits["/data/csaf/v2/advisories/2024/rhsa-2024_6163.json.sha256"] != 1 {
		t.Errorf("checksum not fetched: %v", hits)
	}
}

func FuzzParseHydra(f *testing.F) {
	for _, rel := range []string{"redhat/hydra/cve-2024-8088.json", "redhat/hydra/cve-2021-25220.json"} {
		data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(f), rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHydra(bytes.NewReader(data))
		if err != nil {
			return
		}
		if r := h.Record(); !strings.HasPrefix(r.ID, "CVE-") {
			t.Fatalf("record id %q", r.ID)
		}
	})
}
