package epss

import (
	"bytes"
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

func realFile(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "epss", "epss_scores-2025-02-20.head.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

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

func TestParseFacts(t *testing.T) {
	s, err := Parse(realFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if s.Model != "v2023.03.01" || !s.Date.Equal(time.Date(2025, 2, 20, 0, 0, 0, 0, time.UTC)) || len(s.Records) != 5 {
		t.Fatalf("%q %v %d", s.Model, s.Date, len(s.Records))
	}
	r := s.Records[0]
	if r.ID != "CVE-1999-0001" || r.EPSS.Score != 0.00383 || r.EPSS.Percentile != 0.73075 || r.EPSS.Date != "2025-02-20" {
		t.Fatalf("%+v %+v", r, r.EPSS)
	}
}

// A mirror with the real file gzipped under an older name, and a newer
// snapshot derived from it: the newest score_date wins; a cut gzip is
// reported.
func TestMirrorNewest(t *testing.T) {
	b := realFile(t)
	m := t.TempDir()
	os.MkdirAll(filepath.Join(m, "epss", "2025"), 0o755)
	os.WriteFile(filepath.Join(m, "epss", "2025", "epss_scores-2025-02-20.csv.gz"), gz(b), 0o644)
	newer := bytes.Replace(b, []byte("2025-02-20"), []byte("2025-02-21"), 1)
	newer = bytes.Replace(newer, []byte("0.00383"), []byte("0.00400"), 1)
	os.WriteFile(filepath.Join(m, "epss", "epss_scores-2025-02-21.csv"), newer, 0o644)
	cut := gz(b)
	os.WriteFile(filepath.Join(m, "epss", "epss_scores-2025-02-22.csv.gz"), cut[:len(cut)/2], 0o644)
	recs, problems, err := run(t, feed.Source{Mirror: m})
	if err != nil {
		t.Fatal(err)
	}
	if r := recs["CVE-1999-0001"]; r.EPSS == nil || r.EPSS.Score != 0.004 || r.EPSS.Date != "2025-02-21" {
		t.Fatalf("%+v", r)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Doc, "2025-02-22") {
		t.Fatalf("problems %v", problems)
	}
}

func TestOnline(t *testing.T) {
	body := gz(realFile(t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(body)
	}))
	defer srv.Close()
	recs, _, err := run(t, feed.Source{BaseURL: srv.URL + "/epss_scores-current.csv.gz"})
	if err != nil || recs["CVE-1999-0005"].EPSS.Score != 0.91963 {
		t.Fatalf("%v %+v", err, recs["CVE-1999-0005"])
	}
	// Not an EPSS file: a clear error naming the URL.
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html>maintenance</html>"))
	}))
	defer srv2.Close()
	if _, _, err := run(t, feed.Source{BaseURL: srv2.URL}); err == nil || !strings.Contains(err.Error(), srv2.URL) || !strings.Contains(err.Error(), "not an EPSS file") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(realFile(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if s, err := Parse(b); err == nil {
			for _, r := range s.Records {
				if r.EPSS == nil || r.EPSS.Score < 0 || r.EPSS.Score > 1 {
					t.Fatalf("%+v", r)
				}
			}
		}
	})
}
