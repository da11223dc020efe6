package vulndb

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	_ "github.com/stella-scan/stella/internal/feed/all"
	"github.com/stella-scan/stella/internal/testutil"
)

func connectors(t testing.TB, names ...string) []feed.Connector {
	t.Helper()
	var cs []feed.Connector
	for _, n := range names {
		c, err := feed.Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	return cs
}

var (
	mirrorOnce sync.Once
	mirrorDB   string
	mirrorRep  *SyncReport
	mirrorErr  error
)

// mirrorBuild syncs the real feeds of ../shared/testdata/feeds once per
// test binary: NVD, OSV, Debian, KEV, EPSS.
func mirrorBuild(t *testing.T) (string, *SyncReport) {
	t.Helper()
	feeds := testutil.FeedsDir(t)
	mirrorOnce.Do(func() {
		dir, err := os.MkdirTemp("", "vulndb-test-")
		if err != nil {
			mirrorErr = err
			return
		}
		mirrorDB = filepath.Join(dir, "stella.db")
		mirrorRep, mirrorErr = Sync(context.Background(), SyncOptions{
			Path:       mirrorDB,
			Connectors: connectors(t, "nvd", "osv", "debian", "kev", "epss"),
			Source:     feed.Source{Mirror: feeds},
		})
	})
	if mirrorErr != nil {
		t.Fatal(mirrorErr)
	}
	return mirrorDB, mirrorRep
}

func TestMain(m *testing.M) {
	code := m.Run()
	if mirrorDB != "" {
		os.RemoveAll(filepath.Dir(mirrorDB))
	}
	os.Exit(code)
}

func open(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func has(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func sources(a *Advisory) map[string]feed.Record {
	m := map[string]feed.Record{}
	for _, r := range a.Records {
		m[r.Source+"/"+r.ID] = r
	}
	return m
}

// The same vulnerability from NVD, GHSA (OSV) and Debian (DLA) is one
// advisory with its aliases and each source's record.
func TestCrossSourceMerge(t *testing.T) {
	path, rep := mirrorBuild(t)
	for _, s := range rep.Sources {
		if s.Records == 0 {
			t.Errorf("source %s stored no records", s.Source)
		}
	}
	db := open(t, path)
	ctx := context.Background()

	a, err := db.Advisory(ctx, "CVE-2021-3918")
	if err != nil {
		t.Fatal(err)
	}
	recs := sources(a)
	nvd, ghsa, dla := recs["nvd/CVE-2021-3918"], recs["osv/GHSA-896r-f27r-55mw"], recs["debian/DLA-3228-1"]
	if nvd.ID == "" || ghsa.ID == "" || dla.ID == "" {
		t.Fatalf("CVE-2021-3918 records: %v", keys(recs))
	}
	if !has(a.Aliases, "GHSA-896r-f27r-55mw") || !has(a.Aliases, "DLA-3228-1") {
		t.Errorf("aliases %v", a.Aliases)
	}
	// Provenance of each source's record.
	for _, r := range []feed.Record{nvd, ghsa, dla} {
		if !strings.HasPrefix(r.DocDigest, "sha256:") || r.DocURL == "" || r.FetchedAt.IsZero() {
			t.Errorf("%s %s provenance: %q %q %v", r.Source, r.ID, r.DocURL, r.DocDigest, r.FetchedAt)
		}
	}
	// The DLA's fixed version for buster.
	fixed := false
	for _, af := range dla.Affected {
		if af.Distro == "debian" && af.Release == "buster" && af.Package == "node-json-schema" && af.FixedVersion == "0.2.3-1+deb10u1" && af.State == feed.StateFixed {
			fixed = true
		}
	}
	if !fixed {
		t.Errorf("DLA-3228-1 affected %+v", dla.Affected)
	}
	if len(nvd.CPEs) == 0 || len(ghsa.Affected) == 0 || ghsa.Affected[0].Package != "json-schema" {
		t.Errorf("per-source details lost: %d CPEs, GHSA affected %+v", len(nvd.CPEs), ghsa.Affected)
	}
	// Any alias finds the advisory.
	if b, err := db.Advisory(ctx, "GHSA-896r-f27r-55mw"); err != nil || b.ID != "CVE-2021-3918" {
		t.Fatalf("by GHSA: %v %v", b, err)
	}

	// CVE-2022-24999: NVD (express CPE), GHSA (nine qs ranges), DLA-3299-1.
	a, err = db.Advisory(ctx, "CVE-2022-24999")
	if err != nil {
		t.Fatal(err)
	}
	recs = sources(a)
	if recs["nvd/CVE-2022-24999"].ID == "" || recs["osv/GHSA-hrpp-h998-j3pp"].ID == "" || recs["debian/DLA-3299-1"].ID == "" {
		t.Fatalf("CVE-2022-24999 records %v", keys(recs))
	}
	qs, err := db.Affected(ctx, "npm", "qs")
	if err != nil {
		t.Fatal(err)
	}
	// GHSA-hrpp lists qs nine times, one range each; 6.7.0 -> 6.7.3 is express 4.17.1's.
	var n int
	var r670 *AffectedRecord
	for i := range qs {
		if qs[i].Advisory == "CVE-2022-24999" && qs[i].RecordID == "GHSA-hrpp-h998-j3pp" {
			n++
			if ev := qs[i].Ranges[0].Events; ev[0].Introduced == "6.7.0" && ev[1].Fixed == "6.7.3" {
				r670 = &qs[i]
			}
		}
	}
	if n != 9 || r670 == nil || r670.Severity.Label != "HIGH" || r670.Severity.Source != "osv:ghsa" {
		t.Fatalf("Affected(npm, qs): %d records, 6.7.0 range %+v", n, r670)
	}
	cpes, err := db.CPE(ctx, "openjsf", "express")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cpes {
		if c.Advisory == "CVE-2022-24999" && c.VersionEndExcluding == "4.17.3" {
			found = true
		}
	}
	if !found {
		t.Errorf("CPE express: %+v", cpes)
	}
}

func keys(m map[string]feed.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestSeverityPrecedenceAndEnrichment(t *testing.T) {
	path, _ := mirrorBuild(t)
	db := open(t, path)
	ctx := context.Background()
	for _, tc := range []struct {
		id, label, source string
		score             float64
	}{
		// GHSA (ecosystem advisory) before NVD: both say HIGH 7.2; GitHub's label wins.
		{"CVE-2021-23337", "HIGH", "osv:ghsa", 7.2},
		// NVD has no CVSS ("Awaiting Analysis"); GHSA's MODERATE.
		{"CVE-2023-45857", "MEDIUM", "osv:ghsa", 0},
		// Only NVD, and only Red Hat's Secondary score.
		{"CVE-2023-4911", "HIGH", "nvd:secalert@redhat.com", 7.8},
		// NVD Primary over Secondary.
		{"CVE-2023-38545", "CRITICAL", "nvd:nvd@nist.gov", 9.8},
	} {
		a, err := db.Advisory(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if a.Severity.Label != tc.label || a.Severity.Source != tc.source || a.Severity.Score != tc.score {
			t.Errorf("%s severity %+v, want %s from %s (%v)", tc.id, a.Severity, tc.label, tc.source, tc.score)
		}
	}
	// KEV dates on the advisory and on the affected records.
	a, _ := db.Advisory(ctx, "CVE-2023-4911")
	if a.KEV == nil || a.KEV.DateAdded != "2023-11-21" || a.KEV.DueDate != "2023-12-12" {
		t.Errorf("CVE-2023-4911 KEV %+v", a.KEV)
	}
	logs, _ := db.Affected(ctx, "maven", "org.apache.logging.log4j:log4j-core")
	if len(logs) == 0 || logs[0].KEV == nil || logs[0].KEV.Ransomware != "Known" || logs[0].Advisory != "CVE-2021-44228" {
		t.Errorf("log4j affected %+v", logs)
	}
	// Log4Shell: GHSA and DSA-5020-1 merge under the CVE.
	a, _ = db.Advisory(ctx, "CVE-2021-44228")
	if !has(a.Aliases, "GHSA-jfh8-c2jp-5v3q") || !has(a.Aliases, "DSA-5020-1") || a.Severity.Score != 10 {
		t.Errorf("CVE-2021-44228 %v %+v", a.Aliases, a.Severity)
	}
	// A distro record takes the distro's severity when it has one, else the advisory's.
	deb, err := db.Distro(ctx, "debian", "bullseye", "apache-log4j2")
	if err != nil || len(deb) == 0 {
		t.Fatalf("distro: %v %v", deb, err)
	}
	for _, d := range deb {
		if d.Advisory == "CVE-2021-44228" && (d.FixedVersion != "2.15.0-1~deb11u1" || d.Severity.Label == "") {
			t.Errorf("DSA-5020-1 bullseye %+v", d)
		}
	}
	// A rejected NVD record does not withdraw an advisory GHSA still lists.
	a, _ = db.Advisory(ctx, "CVE-2022-23529")
	if a.Withdrawn || !sources(a)["nvd/CVE-2022-23529"].Withdrawn {
		t.Errorf("CVE-2022-23529 withdrawn %v", a.Withdrawn)
	}
	// GO-2023-2102 is CVE-2023-39325; CVE-2023-44487 (only related) is GHSA-qppj's, in KEV.
	a, _ = db.Advisory(ctx, "GO-2023-2102")
	if a.ID != "CVE-2023-39325" {
		t.Errorf("GO-2023-2102 -> %s", a.ID)
	}
	a, _ = db.Advisory(ctx, "CVE-2023-44487")
	if !has(a.Aliases, "GHSA-qppj-fm5r-hxr3") || has(a.Aliases, "GO-2023-2102") || a.KEV == nil || a.KEV.Vendor != "IETF" {
		t.Errorf("CVE-2023-44487 %v %+v", a.Aliases, a.KEV)
	}
	// DSA-5283-1 fixes three CVEs: an alias of each, and CVEs are not merged.
	a, _ = db.Advisory(ctx, "CVE-2020-36518")
	if !has(a.Aliases, "DSA-5283-1") || !has(a.Aliases, "GHSA-57j2-w4cx-62h2") || has(a.Aliases, "CVE-2022-42003") {
		t.Errorf("CVE-2020-36518 aliases %v", a.Aliases)
	}
	// PyPI names are looked up per PEP 503.
	py, _ := db.Affected(ctx, "pypi", "PyYAML")
	if len(py) == 0 {
		t.Error("pypi PyYAML: nothing")
	}
	st, err := db.Status(ctx)
	if err != nil || st.EPSS != 5 || st.KEV != 1404 || st.Advisories < 50 || len(st.Sources) != 5 {
		t.Fatalf("status %+v %v", st, err)
	}
}

// fakeNVD serves the real API pages; fail makes every request answer 503.
type fakeNVD struct {
	pages   map[int][]byte
	mu      sync.Mutex
	fail    bool
	queries []string
}

func newFakeNVD(t *testing.T) *fakeNVD {
	f := &fakeNVD{pages: map[int][]byte{}}
	for i, si := range []int{0, 6, 12} {
		b, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "nvd", "api-pages", "cves-2.0-page-"+strconv.Itoa(i+1)+"-startIndex-"+strconv.Itoa(si)+".json"))
		if err != nil {
			t.Fatal(err)
		}
		f.pages[si] = b
	}
	return f
}

func (f *fakeNVD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.RawQuery)
	fail := f.fail
	f.mu.Unlock()
	if fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	si, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
	w.Write(f.pages[si])
}

func fileDigest(t *testing.T, p string) [32]byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func fastSource(url string) feed.Source {
	c := feed.NewClient()
	c.MinBackoff, c.MaxBackoff, c.MaxRetries = time.Millisecond, 2*time.Millisecond, 2
	return feed.Source{BaseURL: url, Client: c}
}

// A failed or interrupted sync leaves the previous DB intact and
// readable; an incremental sync asks only for what changed.
func TestSyncAtomicAndIncremental(t *testing.T) {
	ctx := context.Background()
	f := newFakeNVD(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "stella.db")
	opts := SyncOptions{Path: path, Connectors: connectors(t, "nvd"), Source: fastSource(srv.URL)}
	if _, err := Sync(ctx, opts); err != nil {
		t.Fatal(err)
	}
	before := fileDigest(t, path)
	reader := open(t, path)
	if a, err := reader.Advisory(ctx, "CVE-2023-38545"); err != nil || a.Severity.Score != 9.8 {
		t.Fatal(a, err)
	}

	// The service fails: clear error, same file, readers unaffected.
	f.fail = true
	_, err := Sync(ctx, opts)
	if err == nil || !strings.Contains(err.Error(), "HTTP 503") || !strings.Contains(err.Error(), "previous DB is unchanged") {
		t.Fatalf("err = %v", err)
	}
	if fileDigest(t, path) != before {
		t.Fatal("DB changed by a failed sync")
	}
	if _, err := reader.Advisory(ctx, "CVE-2023-38545"); err != nil {
		t.Fatal(err)
	}
	// Interrupted: same.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Sync(cctx, opts); err == nil {
		t.Fatal("cancelled sync succeeded")
	}
	if fileDigest(t, path) != before {
		t.Fatal("DB changed by an interrupted sync")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".build-") {
			t.Errorf("temp file left: %s", e.Name())
		}
	}

	// Incremental: the NVD window starts at the previous sync.
	f.fail = false
	f.queries = nil
	rep, err := Sync(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Sources[0].Since.IsZero() || len(f.queries) == 0 || !strings.Contains(f.queries[0], "lastModStartDate=") {
		t.Fatalf("incremental sync: since %v, queries %v", rep.Sources[0].Since, f.queries)
	}
	// The old handle still reads the old file; a new one sees the new DB.
	if _, err := reader.Advisory(ctx, "CVE-2023-38545"); err != nil {
		t.Fatal(err)
	}
	st, err := open(t, path).Status(ctx)
	if err != nil || st.Records != 17 || st.Sources[0].LastSync.IsZero() {
		t.Fatalf("status %+v %v", st, err)
	}
	// --full ignores the state.
	f.queries = nil
	opts.Full = true
	if _, err := Sync(ctx, opts); err != nil || strings.Contains(f.queries[0], "lastMod") {
		t.Fatalf("full: %v %v", err, f.queries)
	}
}

// ETags from one sync are sent by the next; 304 keeps the stored data.
func TestSyncETag(t *testing.T) {
	b, _ := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "kev", "known_exploited_vulnerabilities.json"))
	var notModified int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"kev-2025.08.25"` {
			notModified++
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"kev-2025.08.25"`)
		w.Write(b)
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "stella.db")
	opts := SyncOptions{Path: path, Connectors: connectors(t, "kev"), Source: fastSource(srv.URL)}
	for i := 0; i < 2; i++ {
		if _, err := Sync(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := open(t, path).Status(context.Background())
	if notModified != 1 || st.KEV != 1404 {
		t.Fatalf("304s %d, KEV rows %d", notModified, st.KEV)
	}
}

func TestOpenRefusesOther(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.db")
	os.WriteFile(p, []byte("not a database"), 0o644)
	if _, err := Open(p); err == nil {
		t.Fatal("opened garbage")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.db")); err == nil || !strings.Contains(err.Error(), "stella db sync") {
		t.Fatalf("err = %v", err)
	}
}

func TestNormalizeAndCPE(t *testing.T) {
	if NormalizeName("pypi", "Zope.Interface__x") != "zope-interface-x" || NormalizeName("npm", "Foo") != "Foo" {
		t.Fatal("NormalizeName")
	}
	v, p := cpeVendorProduct(`cpe:2.3:a:haxx:libcurl:*:*:*:*:*:*:*:*`)
	if v != "haxx" || p != "libcurl" {
		t.Fatal(v, p)
	}
	v, p = cpeVendorProduct(`cpe:2.3:a:a\:b:c:1`)
	if v != `a\:b` || p != "c" {
		t.Fatal(v, p)
	}
}

var _ = io.EOF
