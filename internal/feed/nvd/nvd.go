// Package nvd reads the NIST National Vulnerability Database through the
// CVE API 2.0, or from a mirror of its JSON (API pages, single cve
// objects as in fkie-cad/nvd-json-data-feeds, plain or compressed).
package nvd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stella-scan/stella/internal/feed"
)

// Name of the connector and of its mirror directory.
const Name = "nvd"

// DefaultURL is the CVE API 2.0 endpoint.
const DefaultURL = "https://services.nvd.nist.gov/rest/json/cves/2.0"

// API limits, from the NVD developer documentation: at most 2,000 CVEs per
// page, lastMod windows of at most 120 days, and 5 requests per rolling
// 30 s without an API key (50 with one).
const (
	MaxPageSize   = 2000
	MaxWindow     = 120 * 24 * time.Hour
	IntervalNoKey = 6 * time.Second
	IntervalKey   = 600 * time.Millisecond
)

// pageAttempts is how often one page is fetched again when its body does
// not decode (a corrupt transfer); HTTP-level retries come on top.
const pageAttempts = 3

func init() { feed.Register(&Connector{}) }

// Connector is the NVD connector. Now may be set by tests.
type Connector struct {
	Now func() time.Time
}

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     DefaultURL,
		Format:  "NVD CVE API 2.0 JSON (paged; mirror: pages or cve objects, any compression)",
		License: "public domain (US government); \"This product uses the NVD API but is not endorsed or certified by the NVD.\"",
	}
}

// Fetch implements feed.Connector. With a zero since it reads everything;
// otherwise only CVEs modified since then (API: lastMod windows of at most
// 120 days; mirror: records whose lastModified is older are skipped).
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	if src.Mirror != "" {
		return c.fetchMirror(ctx, src, since, out)
	}
	return c.fetchAPI(ctx, src, since, out)
}

func (c *Connector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Windows splits [since, now] into lastMod windows of at most MaxWindow.
func Windows(since, now time.Time) [][2]time.Time {
	var ws [][2]time.Time
	for start := since; start.Before(now); start = start.Add(MaxWindow) {
		end := start.Add(MaxWindow)
		if end.After(now) {
			end = now
		}
		ws = append(ws, [2]time.Time{start, end})
	}
	return ws
}

// formatTime renders a lastMod bound the way the API documents it
// (extended ISO-8601 with milliseconds and an explicit offset).
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000") + "+00:00"
}

func (c *Connector) fetchAPI(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	base := src.BaseURL
	if base == "" {
		base = DefaultURL
	}
	client := src.Client
	if client == nil {
		client = feed.NewClient()
		client.Interval = IntervalNoKey
		if src.APIKey != "" {
			client.Interval = IntervalKey
		}
	}
	header := http.Header{}
	if src.APIKey != "" {
		header.Set("apiKey", src.APIKey)
	}
	if since.IsZero() {
		return c.fetchWindow(ctx, src, client, base, header, nil, out)
	}
	for _, w := range Windows(since, c.now()) {
		q := url.Values{}
		q.Set("lastModStartDate", formatTime(w[0]))
		q.Set("lastModEndDate", formatTime(w[1]))
		if err := c.fetchWindow(ctx, src, client, base, header, q, out); err != nil {
			return err
		}
	}
	return nil
}

func (c *Connector) fetchWindow(ctx context.Context, src feed.Source, client *feed.Client, base string, header http.Header, q url.Values, out chan<- feed.Record) error {
	start, total := 0, -1
	for total < 0 || start < total {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("resultsPerPage", strconv.Itoa(MaxPageSize))
		v.Set("startIndex", strconv.Itoa(start))
		u := base + "?" + v.Encode()
		page, res, err := getPage(ctx, client, u, header)
		if err != nil {
			return err
		}
		if page.StartIndex != start {
			return fmt.Errorf("GET %s: page starts at %d, asked for %d", u, page.StartIndex, start)
		}
		total = page.TotalResults
		fetched := time.Now().UTC()
		for i, raw := range page.Vulnerabilities {
			r, err := ParseItem(raw)
			if err != nil {
				src.Report(ctx, Name, fmt.Sprintf("%s#vulnerabilities[%d]", u, i), err)
				continue
			}
			r.DocURL, r.DocDigest, r.FetchedAt = u, res.Digest, fetched
			if err := feed.Send(ctx, out, r); err != nil {
				return err
			}
		}
		if len(page.Vulnerabilities) == 0 {
			if start < total {
				return fmt.Errorf("GET %s: empty page before totalResults %d was reached", u, total)
			}
			break
		}
		start += len(page.Vulnerabilities)
	}
	return nil
}

// getPage fetches and decodes one page, fetching it again when the body
// does not decode (invalid UTF-8, cut JSON) before giving up.
func getPage(ctx context.Context, client *feed.Client, u string, header http.Header) (*Page, *feed.Response, error) {
	var lastErr error
	for attempt := 0; attempt < pageAttempts; attempt++ {
		res, err := client.Get(ctx, u, header, nil)
		if err != nil {
			return nil, nil, err
		}
		page, err := ParsePage(res.Body)
		if err == nil {
			return page, res, nil
		}
		lastErr = fmt.Errorf("GET %s: %w", u, err)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
	}
	return nil, nil, fmt.Errorf("%w (after %d attempts; the service sends a damaged page, try again later or use --mirror)", lastErr, pageAttempts)
}

// fetchMirror reads every JSON document under Mirror/nvd: API pages,
// arrays of them, single cve objects, and {"cve_items": [...]} bundles.
func (c *Connector) fetchMirror(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	return src.Walk(ctx, Name, wantFile, func(d feed.Doc) error {
		items, err := mirrorItems(d.Data)
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		for i, raw := range items {
			r, err := ParseItem(raw)
			if err != nil {
				doc := d.Path
				if len(items) > 1 {
					doc = fmt.Sprintf("%s#%d", d.Path, i)
				}
				src.Report(ctx, Name, doc, err)
				continue
			}
			if !since.IsZero() && !r.Modified.IsZero() && r.Modified.Before(since) {
				continue
			}
			r.DocURL, r.FetchedAt = d.Path, d.ModTime.UTC()
			r.DocDigest = d.Digest
			if len(items) > 1 {
				r.DocDigest = feed.Digest(raw)
			}
			if err := feed.Send(ctx, out, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// wantFile skips files that are not NVD JSON (checksums, signatures, notes).
func wantFile(rel string) bool {
	base := strings.ToLower(rel[strings.LastIndex(rel, "/")+1:])
	for _, ext := range []string{".sha256", ".sha512", ".asc", ".sig", ".md", ".txt", ".meta"} {
		if strings.HasSuffix(base, ext) {
			return false
		}
	}
	return true
}

// mirrorItems finds the cve objects in one mirror document by its shape.
func mirrorItems(data []byte) ([]json.RawMessage, error) {
	if feed.Sniff(data) != feed.KindJSON {
		return nil, fmt.Errorf("not JSON (the NVD connector reads API 2.0 JSON)")
	}
	var probe struct {
		Format          string            `json:"format"`
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
		CVEItems        []json.RawMessage `json:"cve_items"`
		LegacyItems     json.RawMessage   `json:"CVE_Items"`
	}
	if strings.HasPrefix(strings.TrimSpace(string(data[:min(len(data), 64)])), "[") {
		var items []json.RawMessage
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, err
		}
		return items, nil
	}
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	// One pass decides the shape; the records stay raw.
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, err
	}
	switch {
	case probe.Vulnerabilities != nil:
		if probe.Format != "" && probe.Format != "NVD_CVE" {
			return nil, fmt.Errorf("page format %q, want NVD_CVE", probe.Format)
		}
		return probe.Vulnerabilities, nil
	case probe.CVEItems != nil:
		return probe.CVEItems, nil
	case probe.LegacyItems != nil:
		return nil, fmt.Errorf("legacy NVD 1.1 feed (CVE_Items): retired by NIST in 2023, mirror the API 2.0 instead")
	default:
		return []json.RawMessage{json.RawMessage(data)}, nil
	}
}
