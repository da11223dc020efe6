// Package epss reads FIRST's Exploit Prediction Scoring System daily
// scores (CSV, usually gzipped, with a "#model_version:…,score_date:…"
// first line) as enrichment records.
package epss

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name of the connector and of its mirror directory.
const Name = "epss"

// DefaultURL is the current daily file.
const DefaultURL = "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"

// maxBadRows is how many unreadable rows one file may have before it is
// judged not to be an EPSS file at all.
const maxBadRows = 100

func init() { feed.Register(&Connector{}) }

// Connector is the EPSS connector.
type Connector struct{}

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{Name: Name, URL: DefaultURL,
		Format:  "EPSS daily CSV (csv or csv.gz, #model_version header; mirror: newest score_date wins)",
		License: "FIRST EPSS: free to use with attribution (see first.org/epss)"}
}

// Scores is one parsed daily file.
type Scores struct {
	Model   string
	Date    time.Time // score_date; zero when the header lacks it
	Records []feed.Record
	Bad     []string // rows that could not be read, "line N: why"
}

// Parse reads a daily file (already decompressed).
func Parse(data []byte) (*Scores, error) {
	s := &Scores{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	header := false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "#") {
			for _, kv := range strings.Split(strings.TrimPrefix(text, "#"), ",") {
				k, v, _ := strings.Cut(kv, ":")
				switch k {
				case "model_version":
					s.Model = v
				case "score_date":
					if t, err := time.Parse("2006-01-02T15:04:05-0700", v); err == nil {
						s.Date = t.UTC()
					} else if t, err := time.Parse("2006-01-02", v); err == nil {
						s.Date = t
					}
				}
			}
			continue
		}
		if !header {
			if !strings.HasPrefix(text, "cve,epss") {
				return nil, fmt.Errorf("line %d: header %q, want cve,epss,percentile (not an EPSS file)", line, text)
			}
			header = true
			continue
		}
		r, err := parseRow(text)
		if err != nil {
			s.Bad = append(s.Bad, fmt.Sprintf("line %d: %v", line, err))
			if len(s.Bad) > maxBadRows {
				return nil, fmt.Errorf("more than %d unreadable rows, first: %s", maxBadRows, s.Bad[0])
			}
			continue
		}
		r.EPSS.Date = s.Date.Format("2006-01-02")
		if s.Date.IsZero() {
			r.EPSS.Date = ""
		}
		r.Modified = s.Date
		s.Records = append(s.Records, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line, err)
	}
	if !header {
		return nil, errors.New("no cve,epss,percentile header (not an EPSS file)")
	}
	return s, nil
}

func parseRow(text string) (feed.Record, error) {
	f := strings.Split(text, ",")
	if len(f) < 3 || !strings.HasPrefix(f[0], "CVE-") {
		return feed.Record{}, fmt.Errorf("row %q", text)
	}
	score, err1 := strconv.ParseFloat(f[1], 64)
	pct, err2 := strconv.ParseFloat(f[2], 64)
	if err1 != nil || err2 != nil || score < 0 || score > 1 || pct < 0 || pct > 1 {
		return feed.Record{}, fmt.Errorf("row %q: score and percentile must be numbers in [0,1]", text)
	}
	return feed.Record{ID: f[0], Source: Name, EPSS: &feed.EPSS{Score: score, Percentile: pct}}, nil
}

// Fetch implements feed.Connector. Scores change daily for every CVE, so
// since is not used; an unchanged file (ETag) is skipped.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	if src.Mirror != "" {
		return fetchMirror(ctx, src, out)
	}
	u := src.BaseURL
	if u == "" {
		u = DefaultURL
	}
	res, err := src.HTTP().Get(ctx, u, nil, src.Validators)
	if err != nil {
		return err
	}
	if res.NotModified {
		return nil
	}
	data, _, err := feed.Decompress(bytes.NewReader(res.Body), feed.DefaultMaxDocBytes)
	if err != nil {
		return fmt.Errorf("%s: %w", u, err)
	}
	s, err := Parse(data)
	if err != nil {
		if src.Validators != nil {
			src.Validators.Set(u, "", "")
		}
		return fmt.Errorf("%s: %w", u, err)
	}
	return send(ctx, src, s, u, res.Digest, time.Now().UTC(), out)
}

func send(ctx context.Context, src feed.Source, s *Scores, doc, digest string, at time.Time, out chan<- feed.Record) error {
	for _, b := range s.Bad {
		src.Report(ctx, Name, doc, errors.New(b))
	}
	for _, r := range s.Records {
		r.DocURL, r.DocDigest, r.FetchedAt = doc, digest, at
		if err := feed.Send(ctx, out, r); err != nil {
			return err
		}
	}
	return nil
}

// fetchMirror sends the newest readable daily file under Mirror/epss
// (by score_date, else the date in the name); broken files are reported
// and the next newest is used.
func fetchMirror(ctx context.Context, src feed.Source, out chan<- feed.Record) error {
	var (
		best     *Scores
		bestDoc  feed.Doc
		bestWhen time.Time
	)
	err := src.Walk(ctx, Name, nil, func(d feed.Doc) error {
		s, err := Parse(d.Data)
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		when := s.Date
		if when.IsZero() {
			when = feed.SnapshotTime(d.Path, d.ModTime)
		}
		if best == nil || when.After(bestWhen) {
			best, bestDoc, bestWhen = s, d, when
		}
		return nil
	})
	if err != nil {
		return err
	}
	if best == nil {
		return fmt.Errorf("mirror %s: no readable EPSS file under %s/", src.Mirror, Name)
	}
	return send(ctx, src, best, bestDoc.Path, bestDoc.Digest, bestDoc.ModTime.UTC(), out)
}
