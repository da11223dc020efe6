package certfr

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	r := recs["CERTFR-2022-AVI-985"]
	if r.Summary != "Multiples vulnérabilités dans OpenSSL" || !slices.Equal(r.Aliases, []string{"CVE-2022-3786", "CVE-2022-3602"}) ||
		!strings.Contains(r.Details, "OpenSSL versions 3.0.x antérieures à 3.0.7") || !r.Published.Equal(day(2022, 11, 2)) {
		t.Errorf("CERTFR-2022-AVI-985 = %+v", r)
	}
	r = recs["CERTFR-2023-AVI-0804"]
	// affected_systems is empty; affected_systems_content carries the text.
	if r.Summary != "Vulnérabilité dans GNU LIBC" || !slices.Equal(r.Aliases, []string{"CVE-2023-4911"}) ||
		!r.Modified.Equal(day(2023, 10, 5)) || !strings.Contains(r.Details, "glibc sans le dernier correctif de sécurité") {
		t.Errorf("CERTFR-2023-AVI-0804 = %+v", r)
	}
	if !slices.Contains(r.URLs, "https://www.debian.org/security/2023/dsa-5514") {
		t.Errorf("CERTFR-2023-AVI-0804 URLs = %v", r.URLs)
	}
	r = recs["CERTFR-2022-AVI-1050"]
	if !slices.Equal(r.Aliases, []string{"CVE-2022-42889"}) || !strings.Contains(r.Details, "IBM QRadar SIEM versions 7.5.x") {
		t.Errorf("CERTFR-2022-AVI-1050 = %+v", r)
	}
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, time.Time{})
	if len(problems) != 0 || len(recs) != 3 {
		t.Errorf("%d records, problems %v", len(recs), problems)
	}
	checkFacts(t, recs)
	recs, _ = collect(t, feed.Source{Mirror: testutil.FeedsDir(t)}, day(2023, 1, 1))
	if len(recs) != 1 || recs["CERTFR-2023-AVI-0804"].ID == "" {
		t.Errorf("since 2023: %d records, want only CERTFR-2023-AVI-0804", len(recs))
	}
}

// TestHTTP serves the site like www.cert.ssi.gouv.fr: /avis/feed/ (an RSS
// document written here, naming the three real advisories and one the
// sample lacks) and /avis/<REF>/json/ with the real JSON.
func TestHTTP(t *testing.T) {
	feeds := testutil.FeedsDir(t)
	refs := []string{"CERTFR-2023-AVI-0804", "CERTFR-2022-AVI-1050", "CERTFR-2022-AVI-985", "CERTFR-2022-AVI-1000"}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/avis/feed/" {
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>CERT-FR - Avis</title><link>https://www.cert.ssi.gouv.fr/</link>`)
			for _, ref := range refs {
				fmt.Fprintf(w, "<item><title>%s</title><link>https://www.cert.ssi.gouv.fr/avis/%s/</link><guid>https://www.cert.ssi.gouv.fr/avis/%s/</guid></item>", ref, ref, ref)
			}
			fmt.Fprint(w, `<item><title>odd</title><link>https://evil.example/avis/x/</link></item></channel></rss>`)
			return
		}
		ref, ok := strings.CutPrefix(r.URL.Path, "/avis/")
		ref, ok2 := strings.CutSuffix(ref, "/json/")
		if !ok || !ok2 {
			http.NotFound(w, r)
			return
		}
		data, err := os.ReadFile(filepath.Join(feeds, "cert-fr/avis", filepath.Base(ref)+".json"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(data)
	}))
	defer srv.Close()
	recs, problems := collect(t, feed.Source{BaseURL: srv.URL, Client: feed.NewClient()}, time.Time{})
	checkFacts(t, recs)
	if len(problems) != 2 {
		t.Fatalf("problems = %v, want the missing advisory and the foreign link", problems)
	}
	if !strings.HasSuffix(problems[0].Doc, "/avis/CERTFR-2022-AVI-1000/json/") || !strings.Contains(problems[0].Err.Error(), "404") {
		t.Errorf("problem 0 = %v", problems[0])
	}
	if got := recs["CERTFR-2022-AVI-985"].DocURL; got != srv.URL+"/avis/CERTFR-2022-AVI-985/json/" {
		t.Errorf("DocURL = %s", got)
	}
}

func TestParseRejects(t *testing.T) {
	for _, doc := range []string{`{"reference": "X"}`, `[]`, `{"reference": "CERTFR-2022-AVI-985", "cves": 3}`, ``} {
		if _, err := Parse(strings.NewReader(doc)); err == nil {
			t.Errorf("%q accepted", doc)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, ref := range []string{"CERTFR-2022-AVI-985", "CERTFR-2023-AVI-0804", "CERTFR-2022-AVI-1050"} {
		data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(f), "cert-fr/avis", ref+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		if r := a.Record(); !reRef.MatchString(r.ID) {
			t.Fatalf("id %q", r.ID)
		}
	})
}
