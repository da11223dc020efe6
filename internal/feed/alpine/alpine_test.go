package alpine

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/testutil"
)

func collect(t *testing.T, src feed.Source) (map[string]feed.Record, []feed.Problem) {
	t.Helper()
	var (
		mu       sync.Mutex
		problems []feed.Problem
	)
	src.OnProblem = func(p feed.Problem) { mu.Lock(); problems = append(problems, p); mu.Unlock() }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan feed.Record, 64)
	errc := make(chan error, 1)
	go func() { errc <- New().Fetch(ctx, src, time.Time{}, out); close(out) }()
	recs := map[string]feed.Record{}
	for r := range out {
		if _, dup := recs[r.ID]; dup {
			t.Errorf("record %s sent twice", r.ID)
		}
		recs[r.ID] = r
	}
	if err := <-errc; err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return recs, problems
}

// fixed asserts that id is fixed in pkg at version for the release.
func fixed(t *testing.T, recs map[string]feed.Record, id, release, pkg, version string) {
	t.Helper()
	r, ok := recs[id]
	if !ok {
		t.Errorf("no record %s", id)
		return
	}
	// A release may list several fixed versions for one id (a backport on
	// an older branch: busybox 1.29.3-r10 and 1.30.1-r2 both fix CVE-2019-5747).
	for _, a := range r.Affected {
		if a.Release == release && a.Package == pkg && a.FixedVersion == version {
			if a.State != feed.StateFixed || a.Distro != "alpine" || a.Ecosystem != "apk" {
				t.Errorf("%s %s/%s = %+v, want fixed %s", id, release, pkg, a, version)
			}
			return
		}
	}
	t.Errorf("%s: no entry for alpine %s %s in %+v", id, release, pkg, r.Affected)
}

func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	// v3.11/main.yaml.
	fixed(t, recs, "CVE-2019-14697", "3.11", "musl", "1.1.23-r2")
	fixed(t, recs, "CVE-2019-1551", "3.11", "openssl", "1.1.1d-r3")
	fixed(t, recs, "CVE-2019-5747", "3.11", "busybox", "1.30.1-r2")
	fixed(t, recs, "CVE-2019-5747", "3.11", "busybox", "1.29.3-r10")
	fixed(t, recs, "CVE-2019-5481", "3.11", "curl", "7.66.0-r0")
	fixed(t, recs, "CVE-2019-5482", "3.11", "curl", "7.66.0-r0")
	fixed(t, recs, "CVE-2019-15903", "3.11", "expat", "2.2.7-r1")
	// v3.15 fixture.
	fixed(t, recs, "CVE-2022-37434", "3.15", "zlib", "1.2.12-r2")
	// 312-main.json: ansible "2.7.9-r0": [CVE-2018-16876], "2.8.0-r0": {}.
	fixed(t, recs, "CVE-2018-16876", "3.12", "ansible", "2.7.9-r0")
	// edge-main.json.
	fixed(t, recs, "CVE-2021-36159", "edge", "apk-tools", "2.12.6-r0")
	// CVE-2019-1551 appears only in v3.11 (not in v3.10).
	for _, a := range recs["CVE-2019-1551"].Affected {
		if a.Release == "3.10" {
			t.Errorf("CVE-2019-1551 has a v3.10 entry: %+v", a)
		}
	}
	// Both v3.10 and v3.11 fix CVE-2019-14697 in musl: one record, two releases.
	fixed(t, recs, "CVE-2019-14697", "3.10", "musl", "1.1.22-r3")
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkFacts(t, recs)
	if r := recs["CVE-2019-14697"]; r.DocDigest == "" || !strings.Contains(r.DocURL, "alpine") {
		t.Errorf("provenance missing: %+v", r)
	}
}

func TestParseQuirks(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "alpine/json-format-fixtures/312-main.json"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("312-main.json with secfixes {}: %v", err)
	}
	if db.Release() != "3.12" || db.RepoName != "main" || len(db.Packages) != 1 || len(db.Packages[0].Fixes) != 2 {
		t.Fatalf("parsed %+v", db)
	}
	if f := db.Packages[0].Fixes[1]; f.Version != "2.8.0-r0" || len(f.IDs) != 0 {
		t.Errorf("2.8.0-r0 entry = %+v, want no ids", f)
	}
	data, err = os.ReadFile(filepath.Join(testutil.FeedsDir(t), "alpine/secdb/v3.11/main.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	db, err = Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if db.DistroVersion != "v3.11" || db.RepoName != "main" || len(db.Packages) != 175 {
		t.Errorf("v3.11/main.yaml: %s %s %d packages, want v3.11 main 175", db.DistroVersion, db.RepoName, len(db.Packages))
	}
	// Version keys that YAML would read as numbers stay text; "0" = not affected.
	db, err = Parse(strings.NewReader("distroversion: v3.9\nreponame: main\npackages:\n- pkg:\n    name: x\n    secfixes:\n      1.10:\n      - CVE-2020-1 (see note)\n      0:\n      - CVE-2020-2\n"))
	if err != nil {
		t.Fatal(err)
	}
	recs := db.Records()
	if len(recs) != 2 || recs[1].Affected[0].FixedVersion != "1.10" || recs[0].Affected[0].State != feed.StateNotAffected {
		t.Errorf("records = %+v", recs)
	}
	for _, bad := range []string{"", "[1,2]", "{\"packages\": 3}", "- a\n- b\n", "\x00\x01"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted as a secdb document", bad)
		}
	}
}

// TestMirrorSnapshots: two dated copies of v3.11/main; the newer one wins
// (its musl fix version was changed), a damaged file is reported.
func TestMirrorSnapshots(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "alpine/secdb/v3.11/main.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(rel string, b []byte) {
		p := filepath.Join(dir, "alpine", rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("2020-06-01/v3.11/main.yaml", data)
	write("2020-07-01/v3.11/main.yaml", bytes.Replace(data, []byte("1.1.23-r2:"), []byte("1.1.23-r9:"), 1))
	write("2020-07-01/v3.11/broken.json", []byte(`{"distroversion": "v3.11", "packages": [`))
	recs, problems := collect(t, feed.Source{Mirror: dir})
	fixed(t, recs, "CVE-2019-14697", "3.11", "musl", "1.1.23-r9")
	if len(problems) != 1 || !strings.HasSuffix(problems[0].Doc, "broken.json") {
		t.Errorf("problems = %v, want broken.json", problems)
	}
}

// TestHTTP serves the real documents like secdb.alpinelinux.org: an index
// page listing release directories, then vX/main.json (or .yaml).
func TestHTTP(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	files := map[string]string{
		"/v3.10/main.yaml":      "alpine/secdb/v3.10/main.yaml",
		"/v3.11/main.yaml":      "alpine/secdb/v3.11/main.yaml",
		"/v3.11/community.yaml": "alpine/secdb/v3.11/community.yaml",
		"/v3.12/main.json":      "alpine/json-format-fixtures/312-main.json",
		"/v3.15/main.yaml":      "alpine/vunnel-fixture-v3.15/main.yaml",
		"/edge/main.json":       "alpine/json-format-fixtures/edge-main.json",
	}
	var mu sync.Mutex
	requested := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requested[r.URL.Path]++
		n := requested[r.URL.Path]
		mu.Unlock()
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html><head><title>Index of /</title></head><body><h1>Index of /</h1><hr><pre><a href="../">../</a>
<a href="edge/">edge/</a>                                              02-Jan-2026 10:00       -
<a href="v3.10/">v3.10/</a>                                            02-Jan-2026 10:00       -
<a href="v3.11/">v3.11/</a>                                            02-Jan-2026 10:00       -
<a href="v3.12/">v3.12/</a>                                            02-Jan-2026 10:00       -
<a href="v3.15/">v3.15/</a>                                            02-Jan-2026 10:00       -
<a href="license.txt">license.txt</a>                              02-Jan-2026 10:00     1234
</pre><hr></body></html>`))
			return
		}
		if r.URL.Path == "/v3.11/main.yaml" && n == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		rel, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(feeds, rel))
	}))
	defer srv.Close()
	client := feed.NewClient()
	client.MinBackoff, client.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	recs, problems := collect(t, feed.Source{BaseURL: srv.URL, Client: client})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkFacts(t, recs)
	if requested["/v3.11/main.yaml"] != 2 {
		t.Errorf("v3.11/main.yaml requested %d times, want 2 (one 429 then success)", requested["/v3.11/main.yaml"])
	}
	if got := recs["CVE-2022-37434"].DocURL; got != srv.URL+"/v3.15/main.yaml" {
		t.Errorf("DocURL = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	feeds := testutil.FeedsDir(f)
	for _, rel := range []string{"alpine/secdb/v3.10/main.yaml", "alpine/json-format-fixtures/312-main.json", "alpine/json-format-fixtures/edge-main.json", "alpine/vunnel-fixture-v3.15/main.yaml"} {
		data, err := os.ReadFile(filepath.Join(feeds, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[:min(len(data), 16<<10)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range db.Records() {
			if r.ID == "" || len(r.Affected) == 0 {
				t.Fatalf("bad record %+v", r)
			}
		}
	})
}
