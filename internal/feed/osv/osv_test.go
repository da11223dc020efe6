package osv

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/testutil"
)

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
			recs[r.ID] = r
		}
		close(done)
	}()
	err := c.Fetch(context.Background(), src, since, out)
	close(out)
	<-done
	return recs, problems, err
}

// ranges renders a package's ranges as "intro-fixed" pairs (last_affected
// as "intro..=last"), in order.
func ranges(r feed.Record, pkg string) []string {
	var out []string
	for _, a := range r.Affected {
		if a.Package != pkg {
			continue
		}
		for _, rg := range a.Ranges {
			if rg.Type == "GIT" {
				continue
			}
			var s string
			for _, e := range rg.Events {
				switch {
				case e.Introduced != "":
					if s != "" {
						out = append(out, s)
					}
					s = e.Introduced + "-"
				case e.Fixed != "":
					s += e.Fixed
				case e.LastAffected != "":
					s += ".=" + e.LastAffected
				}
			}
			if s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func label(r feed.Record) string {
	for _, s := range r.Severity {
		if s.Type == "" {
			return s.Label
		}
	}
	return ""
}

func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	eq := func(id, pkg string, want ...string) {
		t.Helper()
		if got := ranges(recs[id], pkg); !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s ranges %v, want %v", id, pkg, got, want)
		}
	}
	lodash := recs["GHSA-35jh-r3h4-6jhm"]
	if lodash.Aliases[0] != "CVE-2021-23337" || label(lodash) != "HIGH" || lodash.Affected[0].Ecosystem != "npm" {
		t.Errorf("GHSA-35jh: %+v", lodash.Aliases)
	}
	eq("GHSA-35jh-r3h4-6jhm", "lodash", "0-4.17.21")
	eq("GHSA-35jh-r3h4-6jhm", "lodash-es", "0-4.17.21")
	eq("GHSA-29mw-wpgm-hmr9", "lodash.trim", "0-.=4.5.1")
	eq("GHSA-xvch-5gv4-984h", "minimist", "1.0.0-1.2.6", "0-0.2.4")
	if label(recs["GHSA-xvch-5gv4-984h"]) != "CRITICAL" {
		t.Errorf("minimist label %q", label(recs["GHSA-xvch-5gv4-984h"]))
	}
	eq("GHSA-27h2-hvpr-p74q", "jsonwebtoken", "0-9.0.0")
	axios := recs["GHSA-wf5p-g6vw-rhxx"]
	eq("GHSA-wf5p-g6vw-rhxx", "axios", "0.8.1-1.6.0")
	// severity [] but database_specific.severity MODERATE -> MEDIUM, CWE-352.
	if len(axios.Severity) != 1 || axios.Severity[0].Label != "MEDIUM" || axios.Severity[0].Source != "ghsa" || !reflect.DeepEqual(axios.CWEs, []string{"CWE-352"}) {
		t.Errorf("axios severity %+v CWEs %v", axios.Severity, axios.CWEs)
	}
	eq("GHSA-r683-j2x4-v87g", "node-fetch", "1.0-3.1.1", "0-2.6.7")
	if qs := ranges(recs["GHSA-hrpp-h998-j3pp"], "qs"); len(qs) != 9 || !contains(qs, "6.7.0-6.7.3") {
		t.Errorf("qs ranges %v", qs)
	}
	eq("GHSA-rv95-896h-c2vc", "express", "0-4.19.2", "5.0.0-alpha.1-5.0.0-beta.3")
	bp := recs["GHSA-qwcr-r2fm-qrc7"]
	var types []string
	for _, s := range bp.Severity {
		types = append(types, s.Type)
	}
	if !contains(types, "CVSS_V3") || !contains(types, "CVSS_V4") {
		t.Errorf("body-parser severity types %v", types)
	}
	eq("GHSA-57j2-w4cx-62h2", "com.fasterxml.jackson.core:jackson-databind", "2.13.0-2.13.2.1", "0-2.12.6.1")
	eq("GHSA-v845-jxx5-vc9f", "urllib3", "2.0.0-2.0.6", "0-1.26.17")
	log4j := recs["GHSA-jfh8-c2jp-5v3q"]
	eq("GHSA-jfh8-c2jp-5v3q", "org.apache.logging.log4j:log4j-core", "2.13.0-2.15.0", "0-2.3.1", "2.4-2.12.2")
	if log4j.Severity[0].Vector != "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H" || log4j.Severity[0].Score != 10 || log4j.Severity[0].Label != "CRITICAL" {
		t.Errorf("log4j severity %+v", log4j.Severity[0])
	}
	eq("GHSA-599f-7c49-w659", "org.apache.commons:commons-text", "1.5-1.10.0")
	req := recs["GHSA-j8r2-6x86-q33q"]
	if !strings.Contains(req.Details, "→") {
		t.Errorf("GHSA-j8r2 details lost the arrow")
	}
	eq("GHSA-j8r2-6x86-q33q", "requests", "2.3.0-2.31.0")
	net := recs["GHSA-qppj-fm5r-hxr3"]
	eq("GHSA-qppj-fm5r-hxr3", "golang.org/x/net", "0-0.17.0")
	if len(net.URLs) != 111 {
		t.Errorf("GHSA-qppj references %d, want 111", len(net.URLs))
	}
	swift := false
	for _, a := range net.Affected {
		if a.Ecosystem == "swift" {
			swift = true
		}
	}
	if !swift {
		t.Error("GHSA-qppj: purl-type:swift package lost")
	}
	g2102 := recs["GO-2023-2102"]
	eq("GO-2023-2102", "stdlib", "0-1.20.10", "1.21.0-0-1.21.3")
	if !contains(g2102.Aliases, "CVE-2023-39325") || !contains(g2102.Related, "CVE-2023-44487") || contains(g2102.Aliases, "CVE-2023-44487") {
		t.Errorf("GO-2023-2102 aliases %v related %v", g2102.Aliases, g2102.Related)
	}
	eq("GO-2023-1571", "golang.org/x/net", "0-0.7.0")
	eq("GO-2022-1059", "golang.org/x/text", "0-0.3.8")
	eq("GO-2023-1737", "github.com/gin-gonic/gin", "1.3.1-0.20190301021747-ccb9e902956d-1.9.1")
	y := recs["GO-2022-0603"]
	eq("GO-2022-0603", "gopkg.in/yaml.v3", "0-3.0.0-20220521103104-8f96da9f5d5e")
	if !y.Modified.IsZero() || y.Published.IsZero() || y.Affected[0].Ecosystem != "golang" {
		t.Errorf("GO-2022-0603 placeholder modified %v published %v", y.Modified, y.Published)
	}
	eq("GO-2024-3250", "github.com/golang-jwt/jwt/v4", "0-4.5.1")
	eq("GO-2023-1987", "stdlib", "0-1.19.12", "1.20.0-0-1.20.7", "1.21.0-0-1.21.0-rc.4")
	// PyPA YAML: versions kept verbatim ("2.10.0" not a float), GIT range kept apart.
	p74 := recs["PYSEC-2023-74"]
	eq("PYSEC-2023-74", "requests", "2.3.0-2.31.0")
	if len(p74.Affected[0].Ranges) != 2 || p74.Affected[0].Ranges[0].Type != "GIT" || !contains(p74.Affected[0].Versions, "2.10.0") || p74.Affected[0].Ecosystem != "pypi" {
		t.Errorf("PYSEC-2023-74 %+v", p74.Affected[0])
	}
	if p74.Aliases[0] != "CVE-2023-32681" {
		t.Errorf("PYSEC-2023-74 aliases %v", p74.Aliases)
	}
	eq("PYSEC-2023-192", "urllib3", "2.0.0-2.0.6", "0-1.26.17")
	eq("PYSEC-2023-135", "certifi", "2015.4.28-2023.7.22")
	eq("PYSEC-2021-142", "pyyaml", "0-5.4")
	// Distro OSV: fixed versions per release.
	var alma feed.Affected
	for _, r := range recs {
		for _, a := range r.Affected {
			if a.Distro == "almalinux" || a.Distro == "rocky" {
				alma = a
			}
		}
	}
	if (alma.Release != "8" && alma.Release != "9") || alma.Ecosystem != "rpm" || alma.State != feed.StateFixed || alma.FixedVersion == "" {
		t.Errorf("AlmaLinux affected %+v", alma)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func TestMirror(t *testing.T) {
	recs, problems, err := collect(t, &Connector{}, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Fatalf("problems %v", problems)
	}
	checkFacts(t, recs)
}

func TestBrokenReported(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	m := t.TempDir()
	for _, f := range []string{"Go-all.bad-crc.zip", "GHSA-j8r2-6x86-q33q.invalid-utf8.json"} {
		b, _ := os.ReadFile(filepath.Join(feeds, "broken", "osv", f))
		os.MkdirAll(filepath.Join(m, "osv"), 0o755)
		os.WriteFile(filepath.Join(m, "osv", f), b, 0o644)
	}
	recs, problems, err := collect(t, &Connector{}, feed.Source{Mirror: m}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, p := range problems {
		docs = append(docs, filepath.Base(p.Doc)+": "+p.Err.Error())
	}
	sort.Strings(docs)
	if len(problems) != 2 || !strings.Contains(docs[0], "invalid-utf8.json: OSV record is not valid UTF-8") || !strings.Contains(docs[1], "Go-all.bad-crc.zip!GHSA-qppj-fm5r-hxr3.json") {
		t.Fatalf("problems %v", docs)
	}
	// The 22 intact members of the damaged zip still arrive.
	if len(recs) != 22 || recs["GO-2022-0603"].ID == "" {
		t.Fatalf("%d records", len(recs))
	}
}

// fakeOSV serves the feeds like osv.dev's bucket: ecosystems.txt,
// <eco>/all.zip with an ETag, <eco>/modified_id.csv and <eco>/<id>.json.
type fakeOSV struct {
	files map[string][]byte
	mu    sync.Mutex
	hits  map[string]int
}

func zipOf(t *testing.T, paths []string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create(filepath.Base(p))
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

func newFakeOSV(t *testing.T) *fakeOSV {
	feeds := filepath.Join(testutil.FeedsDir(t), "osv")
	f := &fakeOSV{files: map[string][]byte{}, hits: map[string]int{}}
	f.files["/ecosystems.txt"] = []byte("npm\nGo\nPyPI\nMaven\nRocky Linux\n")
	goZip, _ := os.ReadFile(filepath.Join(feeds, "Go", "all.zip"))
	f.files["/Go/all.zip"] = goZip
	for _, eco := range []string{"npm", "Maven", "Rocky-Linux"} {
		paths, _ := filepath.Glob(filepath.Join(feeds, eco, "*.json"))
		f.files["/"+strings.ReplaceAll(eco, "-", " ")+"/all.zip"] = zipOf(t, paths)
	}
	py, _ := filepath.Glob(filepath.Join(feeds, "PyPI", "*.json"))
	yml, _ := filepath.Glob(filepath.Join(feeds, "PyPI", "pypa-advisory-database", "vulns", "*", "*.yaml"))
	f.files["/PyPI/all.zip"] = zipOf(t, append(py, yml...))
	// Incremental: npm's modified_id.csv, newest first, and the records.
	f.files["/npm/modified_id.csv"] = []byte("2024-09-10T19:41:04Z,GHSA-qwcr-r2fm-qrc7\n2023-11-10T00:35:38Z,GHSA-wf5p-g6vw-rhxx\n2021-01-01T00:00:00Z,GHSA-35jh-r3h4-6jhm\n")
	for _, id := range []string{"GHSA-qwcr-r2fm-qrc7", "GHSA-wf5p-g6vw-rhxx"} {
		b, _ := os.ReadFile(filepath.Join(feeds, "npm", id+".json"))
		f.files["/npm/"+id+".json"] = b
	}
	return f
}

func (f *fakeOSV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.mu.Unlock()
	b, ok := f.files[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>NoSuchKey</Code></Error>")
		return
	}
	etag := `"` + feed.Digest(b)[7:23] + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(b)
}

func TestOnline(t *testing.T) {
	f := newFakeOSV(t)
	srv := httptest.NewServer(f)
	defer srv.Close()
	client := feed.NewClient()
	client.MinBackoff, client.MaxRetries = time.Millisecond, 2
	v := feed.NewValidators(nil)
	src := feed.Source{BaseURL: srv.URL, Client: client, Validators: v}
	recs, problems, err := collect(t, &Connector{}, src, time.Time{})
	if err != nil || len(problems) != 0 {
		t.Fatal(err, problems)
	}
	checkFacts(t, recs)
	if recs["GO-2022-0603"].DocURL != srv.URL+"/Go/all.zip!GO-2022-0603.json" {
		t.Errorf("doc url %q", recs["GO-2022-0603"].DocURL)
	}
	// Second full run: every all.zip answers 304, nothing is re-read.
	recs, _, err = collect(t, &Connector{}, src, time.Time{})
	if err != nil || len(recs) != 0 {
		t.Fatalf("second run: %v, %d records", err, len(recs))
	}
	// Incremental: npm from modified_id.csv, only the two newer records;
	// Go has no modified_id.csv and falls back to all.zip, filtered by date.
	since := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	recs, _, err = collect(t, &Connector{Ecosystems: []string{"npm", "Go"}}, feed.Source{BaseURL: srv.URL, Client: client}, since)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := recs["GHSA-qwcr-r2fm-qrc7"]; !ok || recs["GHSA-35jh-r3h4-6jhm"].ID != "" {
		t.Fatalf("incremental npm: %v", keys(recs))
	}
	if recs["GO-2022-0603"].ID == "" { // placeholder modified date: unknown, so kept
		t.Errorf("GO-2022-0603 dropped")
	}
	if f.hits["/npm/all.zip"] != 2 || f.hits["/npm/modified_id.csv"] != 1 {
		t.Errorf("hits %v", f.hits)
	}
}

func keys(m map[string]feed.Record) []string {
	var k []string
	for id := range m {
		k = append(k, id)
	}
	sort.Strings(k)
	return k
}

func FuzzParse(f *testing.F) {
	feeds := filepath.Join(testutil.FeedsDir(f), "osv")
	for _, g := range []string{"npm/*.json", "Go/GO-2023-2102.json", "PyPI/*.json"} {
		paths, _ := filepath.Glob(filepath.Join(feeds, g))
		for _, p := range paths {
			b, _ := os.ReadFile(p)
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := Parse(b); err == nil && r.ID == "" {
			t.Fatal("record without id accepted")
		}
	})
}

func FuzzParseYAML(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(testutil.FeedsDir(f), "osv", "PyPI", "pypa-advisory-database", "vulns", "*", "*.yaml"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("a: &a [*a, *a]\nid: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseYAML(b); err == nil && r.ID == "" {
			t.Fatal("record without id accepted")
		}
	})
}
