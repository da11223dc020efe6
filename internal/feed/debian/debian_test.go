package debian

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/feedtest"
	"github.com/stella-scan/stella/internal/testutil"
)

// collect runs the connector and returns its records by id and the problems it reported.
func collect(t *testing.T, src feed.Source, since time.Time) (map[string]feed.Record, []feed.Problem) {
	t.Helper()
	return feedtest.Collect(t, New(), src, since)
}

func affected(t *testing.T, r feed.Record, release, pkg string) feed.Affected {
	t.Helper()
	for _, a := range r.Affected {
		if a.Release == release && a.Package == pkg {
			return a
		}
	}
	t.Fatalf("%s: no affected entry for %s/%s in %+v", r.ID, release, pkg, r.Affected)
	return feed.Affected{}
}

func want(t *testing.T, r feed.Record, release, pkg, state, fixed string) {
	t.Helper()
	a := affected(t, r, release, pkg)
	if a.State != state || a.FixedVersion != fixed || a.Distro != "debian" || a.Ecosystem != "deb" {
		t.Errorf("%s %s/%s = %+v, want state %s fixed %q distro debian", r.ID, release, pkg, a, state, fixed)
	}
}

func rec(t *testing.T, recs map[string]feed.Record, id string) feed.Record {
	t.Helper()
	r, ok := recs[id]
	if !ok {
		t.Fatalf("no record %s among %d", id, len(recs))
	}
	return r
}

// checkFacts asserts the facts listed in testdata/feeds/README.md.
func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	// [11 Dec 2021] DSA-5020-1 apache-log4j2 {CVE-2021-44228}
	r := rec(t, recs, "DSA-5020-1")
	if !slices.Equal(r.Aliases, []string{"CVE-2021-44228"}) {
		t.Errorf("DSA-5020-1 aliases = %v", r.Aliases)
	}
	if got := r.Published.Format("2006-01-02"); got != "2021-12-11" {
		t.Errorf("DSA-5020-1 published %s, want 2021-12-11", got)
	}
	want(t, r, "bullseye", "apache-log4j2", feed.StateFixed, "2.15.0-1~deb11u1")
	want(t, r, "buster", "apache-log4j2", feed.StateFixed, "2.15.0-1~deb10u1")

	want(t, rec(t, recs, "DSA-5343-1"), "bullseye", "openssl", feed.StateFixed, "1.1.1n-0+deb11u4")
	r = rec(t, recs, "DSA-5283-1")
	if !slices.Equal(r.Aliases, []string{"CVE-2020-36518", "CVE-2022-42003", "CVE-2022-42004"}) {
		t.Errorf("DSA-5283-1 aliases = %v", r.Aliases)
	}
	want(t, r, "bullseye", "jackson-databind", feed.StateFixed, "2.12.1-1+deb11u1")

	r = rec(t, recs, "DLA-3228-1")
	if !slices.Contains(r.Aliases, "CVE-2021-3918") {
		t.Errorf("DLA-3228-1 aliases = %v", r.Aliases)
	}
	want(t, r, "buster", "node-json-schema", feed.StateFixed, "0.2.3-1+deb10u1")
	want(t, rec(t, recs, "DLA-3299-1"), "buster", "node-qs", feed.StateFixed, "6.5.2-1+deb10u1")
	want(t, rec(t, recs, "DLA-3222-1"), "buster", "node-fetch", feed.StateFixed, "1.7.3-1+deb10u1")
	r = rec(t, recs, "DLA-2952-1")
	if !slices.Equal(r.Aliases, []string{"CVE-2019-1551", "CVE-2022-0778"}) {
		t.Errorf("DLA-2952-1 aliases = %v", r.Aliases)
	}
	want(t, r, "stretch", "openssl", feed.StateFixed, "1.1.0l-1~deb9u5")

	// Notes: "[lenny] - vlc <not-affected> (Vulnerable code not present)",
	// "[jessie] - virtualbox <end-of-life>".
	want(t, rec(t, recs, "DSA-2218-1"), "lenny", "vlc", feed.StateNotAffected, "")
	want(t, rec(t, recs, "DSA-2218-1"), "squeeze", "vlc", feed.StateFixed, "1.1.3-1squeeze5")
	want(t, rec(t, recs, "DSA-3699-1"), "jessie", "virtualbox", feed.StateWillNotFix, "")

	// Tracker JSON fixture.
	r = rec(t, recs, "CVE-2022-0456")
	want(t, r, "bookworm", "chromium", feed.StateFixed, "98.0.4758.80-1")
	want(t, r, "bullseye", "chromium", feed.StateFixed, "98.0.4758.80-1~deb11u1")
	// buster: status "open", urgency "end-of-life".
	want(t, r, "buster", "chromium", feed.StateWillNotFix, "")
	want(t, rec(t, recs, "CVE-2025-53603"), "bookworm", "sope", feed.StateFixed, "5.8.0-1+deb12u1")
	// prototypejs CVE-2007-2383: resolved with fixed_version "0" = never affected.
	r = rec(t, recs, "CVE-2007-2383")
	want(t, r, "stretch", "prototypejs", feed.StateNotAffected, "")
	if len(r.Severity) != 1 || r.Severity[0].Label != "unimportant" {
		t.Errorf("CVE-2007-2383 severity = %+v, want the tracker urgency unimportant", r.Severity)
	}
	// chromium-browser CVE-2022-0358 has "releases": [] in the real dump.
	if r := rec(t, recs, "CVE-2022-0358"); len(r.Affected) != 0 {
		t.Errorf("CVE-2022-0358 affected = %+v, want none", r.Affected)
	}
}

func TestMirror(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	recs, problems := collect(t, feed.Source{Mirror: feeds}, time.Time{})
	if len(problems) != 0 {
		t.Errorf("problems reading the real mirror: %v", problems)
	}
	checkFacts(t, recs)
	for id, r := range recs {
		if r.Source != Name || r.DocDigest == "" || r.DocURL == "" || r.FetchedAt.IsZero() {
			t.Fatalf("%s lacks provenance: %+v", id, r)
		}
	}
	// The DSA record's digest is the digest of the real list file.
	data, err := os.ReadFile(filepath.Join(feeds, "debian/security-tracker/data/DSA/list"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := recs["DSA-5020-1"].DocDigest; got != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("DSA-5020-1 digest %s is not the list's", got)
	}
}

func TestSince(t *testing.T) {
	recs, _ := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Date(2023, 3, 1, 0, 0, 0, 0, time.UTC))
	if _, ok := recs["DSA-5020-1"]; ok {
		t.Error("DSA-5020-1 (Dec 2021) sent although since is March 2023")
	}
	if _, ok := recs["DSA-5380-1"]; !ok {
		t.Error("DSA-5380-1 (29 Mar 2023) missing")
	}
}

// TestMirrorNewestAndBroken builds a mirror with two snapshots of the DSA
// list (the older one dated in its directory name and cut short) and an
// unreadable file: the newest list wins, the bad file is reported.
func TestMirrorNewestAndBroken(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	dsa, err := os.ReadFile(filepath.Join(feeds, "debian/security-tracker/data/DSA/list"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(dir, "debian", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Old snapshot: only the first advisory (DSA-5380-1), changed version.
	old := bytes.Replace(dsa[:bytes.Index(dsa, []byte("[27 Mar 2023]"))], []byte("2:1.20.11-1+deb11u6"), []byte("OLD"), 1)
	write("2023-01-01/DSA/list", old)
	write("2023-04-02/DSA/list", dsa)
	write("junk/list.json", []byte("{\"not\": \"a tracker\"}"))
	write("junk/truncated.gz", []byte{0x1f, 0x8b, 0x08, 0x00})
	recs, problems := collect(t, feed.Source{Mirror: dir}, time.Time{})
	want(t, rec(t, recs, "DSA-5380-1"), "bullseye", "xorg-server", feed.StateFixed, "2:1.20.11-1+deb11u6")
	if _, ok := recs["DSA-5020-1"]; !ok {
		t.Error("newest snapshot not used: DSA-5020-1 missing")
	}
	if len(problems) != 2 {
		t.Fatalf("problems = %v, want the 2 junk files", problems)
	}
	for _, p := range problems {
		if filepath.Base(filepath.Dir(p.Doc)) != "junk" || p.Err == nil {
			t.Errorf("unexpected problem %v", p)
		}
	}
}

// server serves the real files like security-tracker.debian.org and salsa:
// ETag / If-None-Match, 404 for anything else, and one 503 on the first
// request for the JSON dump.
func server(t *testing.T) (*httptest.Server, *atomic.Int32) {
	feeds := testutil.FeedsDir(t)
	files := map[string]string{
		"/data/DSA/list":     "debian/security-tracker/data/DSA/list",
		"/data/DLA/list":     "debian/security-tracker/data/DLA/list",
		"/tracker/data/json": "debian/tracker-json/vunnel-fixture-debian.json",
	}
	var hits, failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		rel, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/tracker/data/json" && failed.Add(1) == 1 {
			http.Error(w, "upstream busy", http.StatusServiceUnavailable)
			return
		}
		data, err := os.ReadFile(filepath.Join(feeds, rel))
		if err != nil {
			t.Error(err)
			return
		}
		sum := sha256.Sum256(data)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func testClient() *feed.Client {
	c := feed.NewClient()
	c.MinBackoff, c.MaxBackoff, c.MaxRetries = 5*time.Millisecond, 20*time.Millisecond, 3
	return c
}

func TestHTTP(t *testing.T) {
	srv, hits := server(t)
	v := feed.NewValidators(nil)
	src := feed.Source{BaseURL: srv.URL, Client: testClient(), Validators: v}
	recs, problems := collect(t, src, time.Time{})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkFacts(t, recs)
	if got := recs["DSA-5020-1"].DocURL; got != srv.URL+"/data/DSA/list" {
		t.Errorf("DocURL = %s", got)
	}
	if hits.Load() != 4 { // three documents + one retried 503
		t.Errorf("%d requests, want 4", hits.Load())
	}
	// Second sync: everything answers 304, nothing is sent.
	recs, problems = collect(t, src, time.Time{})
	if len(recs) != 0 || len(problems) != 0 {
		t.Errorf("second sync sent %d records, %d problems; want none", len(recs), len(problems))
	}
}

func TestHTTPUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	src := feed.Source{BaseURL: srv.URL, Client: testClient()}
	err := New().Fetch(context.Background(), src, time.Time{}, make(chan feed.Record, 1))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte(srv.URL+"/data/DSA/list")) {
		t.Errorf("err = %v, want an error naming the DSA list URL", err)
	}
}

func TestParseListHostile(t *testing.T) {
	long := append([]byte("[01 Jan 2020] DSA-1-1 x - y\n\t{"), bytes.Repeat([]byte("A"), maxLine+10)...)
	_, _, err := ParseList(bytes.NewReader(long))
	if err == nil {
		t.Fatal("an over-long line was accepted")
	}
	if _, err := ParseTracker(bytes.NewReader([]byte(`{"x": {"CVE-1": {"releases": 5}}}`))); err == nil {
		t.Error("releases: 5 was accepted")
	}
	if _, err := ParseTracker(bytes.NewReader([]byte(`[1,2]`))); err == nil {
		t.Error("a JSON array was accepted as the tracker dump")
	}
}

func seed(f *testing.F, rel string, max int) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(f), rel))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data[:min(len(data), max)])
}

func FuzzParseList(f *testing.F) {
	seed(f, "debian/security-tracker/data/DSA/list", 8<<10)
	seed(f, "debian/security-tracker/data/DLA/list", 8<<10)
	f.Add([]byte("[01 Jan 2020] DSA-1-1 pkg - x\n\t{CVE-1 }\n\t[sid] - pkg <unfixed> (\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		advs, _, _ := ParseList(bytes.NewReader(data))
		for _, a := range advs {
			r := a.Record()
			if r.ID == "" {
				t.Fatal("record without id")
			}
		}
	})
}

func FuzzParseTracker(f *testing.F) {
	seed(f, "debian/tracker-json/vunnel-fixture-debian.json", 1<<20)
	f.Add([]byte(`{"p": {"CVE-1": {"releases": []}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ParseTracker(bytes.NewReader(data))
		if err == nil {
			for _, r := range recs {
				if r.ID == "" && len(r.Affected) > 0 && r.Source != Name {
					t.Fatal("bad record")
				}
			}
		}
	})
}
