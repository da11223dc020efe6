package ubuntu

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/feedtest"
	"github.com/stella-scan/stella/internal/testutil"
)

func collect(t *testing.T, src feed.Source, since time.Time) (map[string]feed.Record, []feed.Problem) {
	t.Helper()
	return feedtest.Collect(t, New(), src, since)
}

func find(r feed.Record, distro, release, pkg string) (feed.Affected, bool) {
	for _, a := range r.Affected {
		if a.Distro == distro && a.Release == release && a.Package == pkg {
			return a, true
		}
	}
	return feed.Affected{}, false
}

func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	usn, ok := recs["USN-6429-1"]
	if !ok {
		t.Fatalf("no USN-6429-1 among %d records", len(recs))
	}
	if usn.Summary != "curl vulnerabilities" || !usn.Published.Equal(time.Date(2023, 10, 11, 11, 34, 51, 0, time.UTC)) {
		t.Errorf("USN-6429-1 summary %q published %v", usn.Summary, usn.Published)
	}
	// aliases [] and upstream [UBUNTU-CVE-2023-38545, UBUNTU-CVE-2023-38546].
	if !slices.Equal(usn.Aliases, []string{"CVE-2023-38545", "CVE-2023-38546"}) {
		t.Errorf("USN-6429-1 aliases = %v", usn.Aliases)
	}
	for _, c := range []struct{ release, fixed string }{{"22.04", "7.81.0-1ubuntu1.14"}, {"20.04", "7.68.0-1ubuntu2.20"}} {
		a, ok := find(usn, "ubuntu", c.release, "curl")
		if !ok || a.FixedVersion != c.fixed || a.State != feed.StateFixed || a.Ecosystem != "deb" {
			t.Errorf("USN-6429-1 %s curl = %+v, want fixed %s", c.release, a, c.fixed)
		}
	}
	// 20.04 lists only CVE-2023-38546 (low); 22.04 also CVE-2023-38545 (high): the notice is HIGH.
	if len(usn.Severity) != 1 || usn.Severity[0].Label != "HIGH" {
		t.Errorf("USN-6429-1 severity = %+v", usn.Severity)
	}

	// UBUNTU-CVE-2016-20013: glibc and others, open everywhere, Pro apart.
	cve := recs["UBUNTU-CVE-2016-20013"]
	if !slices.Equal(cve.Aliases, []string{"CVE-2016-20013"}) {
		t.Errorf("UBUNTU-CVE-2016-20013 aliases = %v", cve.Aliases)
	}
	if a, ok := find(cve, "ubuntu-pro", "14.04", "eglibc"); !ok || a.State != feed.StateOpen || a.FixedVersion != "" {
		t.Errorf("Pro 14.04 eglibc = %+v (found %v)", a, ok)
	}
	if a, ok := find(cve, "ubuntu", "14.04", "syslinux"); !ok || a.State != feed.StateOpen {
		t.Errorf("14.04 syslinux = %+v (found %v)", a, ok)
	}
	var sawVector, sawPriority bool
	for _, s := range cve.Severity {
		if s.Type == "CVSS_V3" && s.Vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H" && s.Score == 7.5 && s.Label == "HIGH" {
			sawVector = true
		}
		if s.Type == "" && s.Label == "negligible" {
			sawPriority = true
		}
	}
	if !sawVector || !sawPriority {
		t.Errorf("UBUNTU-CVE-2016-20013 severity = %+v", cve.Severity)
	}
	if a, ok := find(recs["USN-5614-1"], "ubuntu", "18.04", "wayland"); !ok || a.FixedVersion != "1.16.0-1ubuntu1.1~18.04.4" {
		t.Errorf("USN-5614-1 18.04 wayland = %+v", a)
	}

	// OpenVEX CVE-2023-38545.
	vex := recs["CVE-2023-38545"]
	if !slices.Contains(vex.Aliases, "USN-6429-1") {
		t.Errorf("VEX aliases = %v, want USN-6429-1", vex.Aliases)
	}
	for _, c := range []struct{ distro, release, state string }{
		{"ubuntu", "22.04", feed.StateFixed}, {"ubuntu", "24.04", feed.StateFixed},
		{"ubuntu", "16.04", feed.StateOpen}, {"ubuntu-pro", "20.04", feed.StateNotAffected},
		{"ubuntu-pro", "14.04", feed.StateNotAffected},
	} {
		if a, ok := find(vex, c.distro, c.release, "curl"); !ok || a.State != c.state {
			t.Errorf("VEX %s %s curl = %+v (found %v), want %s", c.distro, c.release, a, ok, c.state)
		}
	}
	if a, _ := find(vex, "ubuntu", "16.04", "curl"); !slices.Equal(a.Versions, []string{"7.47.0-1ubuntu2.19"}) {
		t.Errorf("VEX 16.04 affected versions = %v", a.Versions)
	}
	if len(vex.Affected) != 7 {
		t.Errorf("VEX has %d source-package entries, want 7 (2 fixed, 1 affected, 4 not affected)", len(vex.Affected))
	}
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Time{})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkFacts(t, recs)
	if len(recs) != 4 {
		t.Errorf("%d records, want 4 (2 USN, 1 UBUNTU-CVE, 1 VEX CVE)", len(recs))
	}
}

func TestParseVEX(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "ubuntu/vex/cve/2023/CVE-2023-38545.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVEX(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if v.Context != "https://openvex.dev/ns/v0.2.0" || v.Author != "Canonical Ltd." || v.Version != 5 {
		t.Errorf("header = %s %s %d", v.Context, v.Author, v.Version)
	}
	counts := map[string]int{}
	for _, s := range v.Statements {
		counts[s.Status] += len(s.Products)
		if s.Status == "not_affected" && s.Justification != "vulnerable_code_not_present" {
			t.Errorf("justification %q", s.Justification)
		}
	}
	if counts["fixed"] != 149 || counts["affected"] != 113 || counts["not_affected"] != 356 {
		t.Errorf("products per status = %v, want fixed 149 affected 113 not_affected 356", counts)
	}
	if _, err := ParseVEX(strings.NewReader(`{"@context": "https://example.com"}`)); err == nil {
		t.Error("a non-OpenVEX document was accepted")
	}
}

func TestSince(t *testing.T) {
	// USN-6429-1 and the others were modified in April 2026, the VEX in May 2026.
	recs, _ := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))
	if len(recs) != 1 || recs["CVE-2023-38545"].ID == "" {
		t.Errorf("since May 2026: got %v, want only the VEX record", keys(recs))
	}
}

func keys(m map[string]feed.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// archives builds what the real endpoints serve from the real files:
// osv.dev's Ubuntu/all.zip (flat JSON members) and Canonical's
// vex-all.tar.xz (vex/cve/YYYY/…).
func archives(t *testing.T) (zipData, tarXZ []byte) {
	feeds := testutil.FeedsDir(t)
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	for _, rel := range []string{"ubuntu/osv/usn/USN-6429-1.json", "ubuntu/osv/usn/USN-5614-1.json", "ubuntu/osv/cve/2016/UBUNTU-CVE-2016-20013.json"} {
		data, err := os.ReadFile(filepath.Join(feeds, rel))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(filepath.Base(rel))
		w.Write(data)
	}
	zw.Close()
	var tb bytes.Buffer
	xw, err := xz.NewWriter(&tb)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(xw)
	data, err := os.ReadFile(filepath.Join(feeds, "ubuntu/vex/cve/2023/CVE-2023-38545.json"))
	if err != nil {
		t.Fatal(err)
	}
	tw.WriteHeader(&tar.Header{Name: "vex/cve/2023/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "vex/cve/2023/CVE-2023-38545.json", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data))})
	tw.Write(data)
	tw.Close()
	xw.Close()
	return zb.Bytes(), tb.Bytes()
}

// TestHTTP: the first all.zip answer is cut mid-body (a dropped
// connection); the client retries; a second sync gets 304s.
func TestHTTP(t *testing.T) {
	zipData, tarXZ := archives(t)
	var zipHits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		switch r.URL.Path {
		case "/Ubuntu/all.zip":
			body = zipData
			if zipHits.Add(1) == 1 {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body[:len(body)/2])
				return // the server closes the connection short of Content-Length
			}
		case "/vex/vex-all.tar.xz":
			body = tarXZ
		default:
			http.NotFound(w, r)
			return
		}
		etag := `"` + strconv.Itoa(len(body)) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Write(body)
	}))
	defer srv.Close()
	client := feed.NewClient()
	client.MinBackoff, client.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	src := feed.Source{BaseURL: srv.URL, Client: client, Validators: feed.NewValidators(nil)}
	recs, problems := collect(t, src, time.Time{})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkFacts(t, recs)
	if zipHits.Load() != 2 {
		t.Errorf("all.zip fetched %d times, want 2", zipHits.Load())
	}
	if got := recs["CVE-2023-38545"].DocURL; got != srv.URL+"/vex/vex-all.tar.xz!vex/cve/2023/CVE-2023-38545.json" {
		t.Errorf("VEX DocURL = %s", got)
	}
	recs, _ = collect(t, src, time.Time{})
	if len(recs) != 0 {
		t.Errorf("second sync sent %d records, want 0 (304)", len(recs))
	}
}

func TestMirrorBroken(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ubuntu", "osv"), 0o755)
	os.WriteFile(filepath.Join(dir, "ubuntu", "osv", "USN-1-1.json"), []byte(`{"id": "USN-1-1", "affected": [`), 0o644)
	os.WriteFile(filepath.Join(dir, "ubuntu", "osv", "notes.txt"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "ubuntu", "osv", "USN-2-1.json"), []byte(`{"id": "USN-2-1", "affected": [{"package": {"ecosystem": "Ubuntu:24.04:LTS", "name": "x"}}]}`), 0o644)
	recs, problems := collect(t, feed.Source{Mirror: dir}, time.Time{})
	if len(recs) != 1 || len(recs["USN-2-1"].Affected) != 1 {
		t.Errorf("records = %v", recs)
	}
	if len(problems) != 2 {
		t.Errorf("problems = %v, want USN-1-1.json and notes.txt", problems)
	}
}

func FuzzParseOSV(f *testing.F) {
	feeds := testutil.FeedsDir(f)
	for _, rel := range []string{"ubuntu/osv/usn/USN-6429-1.json", "ubuntu/osv/usn/USN-5614-1.json"} {
		data, err := os.ReadFile(filepath.Join(feeds, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		if r := o.Record(); r.ID == "" {
			t.Fatal("record without id")
		}
	})
}

func FuzzParseVEX(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(f), "ubuntu/vex/cve/2023/CVE-2023-38545.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:8<<10])
	f.Add([]byte(`{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"fixed","products":[{"@id":"pkg:deb/ubuntu/x@1?arch=source&distro=a/b/c"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVEX(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range v.Records() {
			if r.ID == "" {
				t.Fatal("record without id")
			}
		}
	})
}
