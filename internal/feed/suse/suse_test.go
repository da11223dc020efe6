package suse

import (
	"bytes"
	"compress/gzip"
	"context"
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
	"github.com/stella-scan/stella/internal/testutil"
)

func collect(t *testing.T, c *Connector, src feed.Source) (map[string]feed.Record, []feed.Problem) {
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
	go func() { errc <- c.Fetch(ctx, src, time.Time{}, out); close(out) }()
	recs := map[string]feed.Record{}
	for r := range out {
		recs[r.ID] = r
	}
	if err := <-errc; err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return recs, problems
}

func has(r feed.Record, distro, release, pkg, fixed, state string) bool {
	for _, a := range r.Affected {
		if a.Distro == distro && a.Release == release && a.Package == pkg && a.FixedVersion == fixed && a.State == state && a.Ecosystem == "rpm" {
			return true
		}
	}
	return false
}

func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	if len(recs) != 4 {
		t.Errorf("%d records, want the 4 definitions", len(recs))
	}
	// CVE-2010-1323: krb5 < 1.15.2-4.25 on SLES 15 (state evr "0:1.15.2-4.25").
	k := recs["CVE-2010-1323"]
	if !has(k, "sles", "15", "krb5", "1.15.2-4.25", feed.StateFixed) || !has(k, "sles", "15", "krb5-server", "1.15.2-4.25", feed.StateFixed) {
		t.Errorf("CVE-2010-1323 affected = %+v", k.Affected)
	}
	if !slices.Equal(k.Aliases, []string{"SUSE-SR:2010:023", "SUSE-SR:2010:024"}) {
		t.Errorf("CVE-2010-1323 aliases = %v", k.Aliases)
	}
	if len(k.Severity) != 2 || k.Severity[0].Label != "Moderate" || k.Severity[1].Vector != "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:L/A:N" || k.Severity[1].Score != 3.7 {
		t.Errorf("CVE-2010-1323 severity = %+v", k.Severity)
	}
	// CVE-2021-29154: kernel-default fixed 4.12.14-150.72.1 for 15-LTSS and
	// 4.12.14-197.89.2 for 15 SP1; advisory ids as aliases.
	r := recs["CVE-2021-29154"]
	if !has(r, "sles", "15", "kernel-default", "4.12.14-150.72.1", feed.StateFixed) || !has(r, "sles", "15.1", "kernel-default", "4.12.14-197.89.2", feed.StateFixed) {
		t.Errorf("CVE-2021-29154 affected = %+v", r.Affected)
	}
	if !slices.Contains(r.Aliases, "SUSE-SU-2021:1210-1") || !slices.Contains(r.Aliases, "openSUSE-SU-2021:0579-1") {
		t.Errorf("CVE-2021-29154 aliases = %v", r.Aliases)
	}
	// "python3-cryptography is not affected".
	if !has(recs["CVE-2026-34073"], "sles", "15", "python3-cryptography", "", feed.StateNotAffected) {
		t.Errorf("CVE-2026-34073 affected = %+v", recs["CVE-2026-34073"].Affected)
	}
	if !has(recs["CVE-1999-0524"], "sles", "15", "kernel-default", "", feed.StateNotAffected) {
		t.Errorf("CVE-1999-0524 affected = %+v", recs["CVE-1999-0524"].Affected)
	}
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, New(), feed.Source{Mirror: testutil.FeedsDir(t)})
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	checkFacts(t, recs)
}

func TestPlatform(t *testing.T) {
	for in, want := range map[string][2]string{
		"SUSE Linux Enterprise Server 15 SP1-LTSS":           {"sles", "15.1"},
		"SUSE Linux Enterprise Server 15-LTSS":               {"sles", "15"},
		"SUSE Linux Enterprise Desktop 15 SP3":               {"sled", "15.3"},
		"SUSE Linux Enterprise Module for Basesystem 15 SP2": {"sles", "15.2"},
		"openSUSE Leap 15.3":                                 {"opensuse-leap", "15.3"},
	} {
		d, r, ok := platform(in)
		if !ok || d != want[0] || r != want[1] {
			t.Errorf("platform(%q) = %s %s %v", in, d, r, ok)
		}
	}
	if _, _, ok := platform("Red Hat Enterprise Linux 9"); ok {
		t.Error("non-SUSE platform accepted")
	}
}

// TestHTTP serves the OVAL gzipped like ftp.suse.com, plus a file cut mid-stream.
func TestHTTP(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "suse/oval-truncated.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pub/projects/security/oval/suse.linux.enterprise.server.15.xml.gz":
			w.Write(gz.Bytes())
		case "/pub/projects/security/oval/opensuse.leap.15.6.xml.gz":
			w.Write(gz.Bytes()[:gz.Len()/2]) // an interrupted upload on the server side
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Connector{Files: []string{"suse.linux.enterprise.server.15.xml.gz", "opensuse.leap.15.6.xml.gz", "missing.xml.gz"}}
	recs, problems := collect(t, c, feed.Source{BaseURL: srv.URL, Client: feed.NewClient()})
	checkFacts(t, recs)
	if len(problems) != 2 || !strings.Contains(problems[0].Doc, "opensuse.leap.15.6") || !strings.Contains(problems[1].Doc, "missing.xml.gz") {
		t.Errorf("problems = %v, want the truncated gzip and the 404", problems)
	}
	if got := recs["CVE-2010-1323"].DocURL; got != srv.URL+"/pub/projects/security/oval/suse.linux.enterprise.server.15.xml.gz" {
		t.Errorf("DocURL = %s", got)
	}
}

func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(f), "suse/oval-truncated.xml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range o.Records() {
			if r.ID == "" {
				t.Fatal("record without id")
			}
		}
	})
}
