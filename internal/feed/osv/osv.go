// Package osv reads advisories in the OSV format: GitHub Security
// Advisories, the Go vulnerability database, PyPA, RustSec and the distro
// OSV feeds, from osv.dev's per-ecosystem exports (all.zip,
// modified_id.csv) or from a mirror of zips, JSON and YAML files.
package osv

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name of the connector and of its mirror directory.
const Name = "osv"

// DefaultURL is the root of osv.dev's export bucket: ecosystems.txt, then
// <Ecosystem>/all.zip, <Ecosystem>/modified_id.csv and <Ecosystem>/<ID>.json.
const DefaultURL = "https://osv-vulnerabilities.storage.googleapis.com"

func init() { feed.Register(&Connector{}) }

// Connector is the OSV connector. Ecosystems restricts the online fetch
// (nil: every ecosystem listed in ecosystems.txt).
type Connector struct {
	Ecosystems []string
}

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     DefaultURL + "/<ecosystem>/all.zip",
		Format:  "OSV JSON (per-ecosystem zip exports; mirror: zips, JSON, PyPA YAML, any compression)",
		License: "per database: GitHub Advisory Database CC-BY-4.0, Go vulndb CC-BY-4.0, PyPA CC-BY-4.0, RustSec CC0-1.0, distro feeds their own terms",
	}
}

// Fetch implements feed.Connector. With a non-zero since only records
// modified after it are sent (online: from modified_id.csv when the
// export has it).
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	if src.Mirror != "" {
		return src.Walk(ctx, Name, wantFile, func(d feed.Doc) error {
			return emitDoc(ctx, src, d, since, out)
		})
	}
	base := strings.TrimSuffix(src.BaseURL, "/")
	if base == "" {
		base = DefaultURL
	}
	client := src.HTTP()
	ecos := c.Ecosystems
	if len(ecos) == 0 {
		res, err := client.Get(ctx, base+"/ecosystems.txt", nil, nil)
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(res.Body), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				ecos = append(ecos, l)
			}
		}
	}
	for _, eco := range ecos {
		if err := c.fetchEcosystem(ctx, src, client, base, eco, since, out); err != nil {
			return err
		}
	}
	return nil
}

func (c *Connector) fetchEcosystem(ctx context.Context, src feed.Source, client *feed.Client, base, eco string, since time.Time, out chan<- feed.Record) error {
	ecoURL := base + "/" + url.PathEscape(eco)
	if !since.IsZero() {
		ids, err := modifiedSince(ctx, client, ecoURL+"/modified_id.csv", since)
		if err == nil {
			for _, id := range ids {
				u := ecoURL + "/" + url.PathEscape(id) + ".json"
				res, err := client.Get(ctx, u, nil, nil)
				if err != nil {
					src.Report(ctx, Name, u, err)
					continue
				}
				d := feed.Doc{Path: u, Kind: feed.Sniff(res.Body), Data: res.Body, ModTime: time.Now(), Digest: res.Digest}
				if err := emitDoc(ctx, src, d, since, out); err != nil {
					return err
				}
			}
			return nil
		}
		// No usable modified_id.csv: fall back to the whole export.
	}
	u := ecoURL + "/all.zip"
	res, err := client.Get(ctx, u, nil, src.Validators)
	if err != nil {
		return err
	}
	if res.NotModified {
		return nil
	}
	return src.ReadBytes(ctx, Name, u, res.Body, func(d feed.Doc) error {
		return emitDoc(ctx, src, d, since, out)
	})
}

// modifiedSince reads osv.dev's modified_id.csv ("<RFC 3339>,<ID>" per
// line, newest first) and returns the ids modified after since.
func modifiedSince(ctx context.Context, client *feed.Client, u string, since time.Time) ([]string, error) {
	res, err := client.Get(ctx, u, nil, nil)
	if err != nil {
		return nil, err
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(res.Body))
	for sc.Scan() {
		ts, id, ok := strings.Cut(strings.TrimSpace(sc.Text()), ",")
		if !ok {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("%s: bad line %q", u, sc.Text())
		}
		if !t.After(since) {
			break // sorted newest first
		}
		// Only "<ID>" and "<Ecosystem>/<ID>" forms; no path tricks.
		id = path.Base(id)
		if id != "" && id != "." && id != ".." {
			ids = append(ids, id)
		}
	}
	return ids, sc.Err()
}

// wantFile skips what is not an advisory: lists, checksums, notes.
func wantFile(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	for _, ext := range []string{".csv", ".txt", ".md", ".sha256", ".asc", ".sig", ".license"} {
		if strings.HasSuffix(base, ext) {
			return false
		}
	}
	return true
}

// emitDoc parses one document (one record, an array of records, or YAML)
// and sends its records; unreadable ones are reported.
func emitDoc(ctx context.Context, src feed.Source, d feed.Doc, since time.Time, out chan<- feed.Record) error {
	var recs []feed.Record
	switch d.Kind {
	case feed.KindJSON:
		trimmed := bytes.TrimLeft(d.Data, " \t\r\n\xef\xbb\xbf")
		if len(trimmed) > 0 && trimmed[0] == '[' {
			var raws []json.RawMessage
			if err := json.Unmarshal(d.Data, &raws); err != nil {
				src.Report(ctx, Name, d.Path, fmt.Errorf("OSV array: %w", err))
				return nil
			}
			for i, raw := range raws {
				r, err := Parse(raw)
				if err != nil {
					src.Report(ctx, Name, fmt.Sprintf("%s#%d", d.Path, i), err)
					continue
				}
				r.DocDigest = feed.Digest(raw)
				recs = append(recs, r)
			}
		} else {
			r, err := Parse(d.Data)
			if err != nil {
				src.Report(ctx, Name, d.Path, err)
				return nil
			}
			r.DocDigest = d.Digest
			recs = append(recs, r)
		}
	case feed.KindText:
		lower := strings.ToLower(d.Path)
		if !strings.HasSuffix(feed.StripCompression(lower), ".yaml") && !strings.HasSuffix(feed.StripCompression(lower), ".yml") && !bytes.Contains(d.Data, []byte("\nid:")) && !bytes.HasPrefix(d.Data, []byte("id:")) {
			src.Report(ctx, Name, d.Path, fmt.Errorf("neither OSV JSON nor OSV YAML"))
			return nil
		}
		r, err := ParseYAML(d.Data)
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		r.DocDigest = d.Digest
		recs = append(recs, r)
	default:
		src.Report(ctx, Name, d.Path, fmt.Errorf("%s document is not OSV", d.Kind))
		return nil
	}
	for _, r := range recs {
		if !since.IsZero() && !r.Modified.IsZero() && !r.Modified.After(since) {
			continue
		}
		r.DocURL, r.FetchedAt = d.Path, d.ModTime.UTC()
		if err := feed.Send(ctx, out, r); err != nil {
			return err
		}
	}
	return nil
}
