// Package kev reads CISA's Known Exploited Vulnerabilities catalog (JSON
// or CSV) as enrichment records: one per CVE, with the KEV dates.
package kev

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stella-scan/stella/internal/feed"
)

// Name of the connector and of its mirror directory.
const Name = "kev"

// DefaultURL is the catalog in JSON.
const DefaultURL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"

func init() { feed.Register(&Connector{}) }

// Connector is the KEV connector.
type Connector struct{}

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{Name: Name, URL: DefaultURL,
		Format:  "CISA KEV catalog JSON or CSV (mirror: either, any compression; newest catalog wins)",
		License: "CC0-1.0"}
}

// Catalog is one parsed KEV catalog.
type Catalog struct {
	Version  string    // catalogVersion ("2025.08.25"); empty for CSV
	Released time.Time // dateReleased; zero for CSV
	Records  []feed.Record
}

type entry struct {
	CVE        string   `json:"cveID"`
	Vendor     string   `json:"vendorProject"`
	Product    string   `json:"product"`
	Name       string   `json:"vulnerabilityName"`
	DateAdded  string   `json:"dateAdded"`
	Desc       string   `json:"shortDescription"`
	DueDate    string   `json:"dueDate"`
	Ransomware string   `json:"knownRansomwareCampaignUse"`
	CWEs       []string `json:"cwes"`
}

func (e entry) record() (feed.Record, error) {
	if !strings.HasPrefix(e.CVE, "CVE-") {
		return feed.Record{}, fmt.Errorf("entry without a CVE id (%q)", e.CVE)
	}
	added, err := time.Parse("2006-01-02", e.DateAdded)
	if err != nil {
		return feed.Record{}, fmt.Errorf("%s: dateAdded %q", e.CVE, e.DateAdded)
	}
	return feed.Record{
		ID: e.CVE, Source: Name, Published: added, Modified: added,
		Summary: e.Name, Details: e.Desc, CWEs: e.CWEs,
		KEV: &feed.KEV{DateAdded: e.DateAdded, DueDate: e.DueDate, Ransomware: e.Ransomware,
			Vendor: e.Vendor, Product: e.Product},
	}, nil
}

// Parse reads a catalog in JSON or CSV, recognised by content.
func Parse(data []byte) (*Catalog, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("KEV catalog is not valid UTF-8")
	}
	if feed.Sniff(data) == feed.KindJSON {
		return parseJSON(data)
	}
	return parseCSV(data)
}

func parseJSON(data []byte) (*Catalog, error) {
	var doc struct {
		CatalogVersion  string  `json:"catalogVersion"`
		DateReleased    string  `json:"dateReleased"`
		Count           int     `json:"count"`
		Vulnerabilities []entry `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("KEV JSON: %w", err)
	}
	if doc.Vulnerabilities == nil {
		return nil, errors.New("KEV JSON has no vulnerabilities array (not a catalog)")
	}
	if doc.Count != 0 && doc.Count != len(doc.Vulnerabilities) {
		return nil, fmt.Errorf("KEV JSON: count %d but %d entries (cut file?)", doc.Count, len(doc.Vulnerabilities))
	}
	c := &Catalog{Version: doc.CatalogVersion}
	c.Released, _ = time.Parse(time.RFC3339Nano, doc.DateReleased)
	for i, e := range doc.Vulnerabilities {
		r, err := e.record()
		if err != nil {
			return nil, fmt.Errorf("KEV JSON entry %d: %w", i, err)
		}
		c.Records = append(c.Records, r)
	}
	return c, nil
}

func parseCSV(data []byte) (*Catalog, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("KEV CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimPrefix(h, "\ufeff")] = i
	}
	for _, need := range []string{"cveID", "dateAdded", "dueDate"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("KEV CSV: no %s column (not a KEV catalog)", need)
		}
	}
	get := func(row []string, k string) string {
		if i, ok := col[k]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	c := &Catalog{}
	for line := 2; ; line++ {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("KEV CSV: %w", err)
		}
		e := entry{CVE: get(row, "cveID"), Vendor: get(row, "vendorProject"), Product: get(row, "product"),
			Name: get(row, "vulnerabilityName"), DateAdded: get(row, "dateAdded"), Desc: get(row, "shortDescription"),
			DueDate: get(row, "dueDate"), Ransomware: get(row, "knownRansomwareCampaignUse")}
		for _, cwe := range strings.Split(get(row, "cwes"), ",") {
			if cwe = strings.TrimSpace(cwe); cwe != "" {
				e.CWEs = append(e.CWEs, cwe)
			}
		}
		r, err := e.record()
		if err != nil {
			return nil, fmt.Errorf("KEV CSV line %d: %w", line, err)
		}
		c.Records = append(c.Records, r)
	}
	return c, nil
}

// Fetch implements feed.Connector. The catalog is small and always read
// whole; since is not used (entries change in place).
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
	cat, err := Parse(data)
	if err != nil {
		if src.Validators != nil {
			src.Validators.Set(u, "", "") // fetch it again next time
		}
		return fmt.Errorf("%s: %w", u, err)
	}
	return send(ctx, cat, u, res.Digest, time.Now().UTC(), out)
}

func send(ctx context.Context, cat *Catalog, doc, digest string, at time.Time, out chan<- feed.Record) error {
	for _, r := range cat.Records {
		r.DocURL, r.DocDigest, r.FetchedAt = doc, digest, at
		if err := feed.Send(ctx, out, r); err != nil {
			return err
		}
	}
	return nil
}

// fetchMirror parses every catalog under Mirror/kev, reports the broken
// ones and sends the newest: by dateReleased when the file has it (JSON),
// else by the date in its name or its modification time.
func fetchMirror(ctx context.Context, src feed.Source, out chan<- feed.Record) error {
	type cand struct {
		cat    *feed.Doc
		parsed *Catalog
		when   time.Time
		exact  bool
	}
	var best *cand
	err := src.Walk(ctx, Name, func(rel string) bool { return !strings.Contains(strings.ToLower(rel), "schema") }, func(d feed.Doc) error {
		cat, err := Parse(d.Data)
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		c := &cand{cat: &d, parsed: cat, when: cat.Released, exact: !cat.Released.IsZero()}
		if !c.exact {
			c.when = feed.SnapshotTime(d.Path, d.ModTime)
		}
		if best == nil || (c.exact && !best.exact) || (c.exact == best.exact && c.when.After(best.when)) {
			best = c
		}
		return nil
	})
	if err != nil {
		return err
	}
	if best == nil {
		return fmt.Errorf("mirror %s: no readable KEV catalog under %s/", src.Mirror, Name)
	}
	return send(ctx, best.parsed, best.cat.Path, best.cat.Digest, best.cat.ModTime.UTC(), out)
}
