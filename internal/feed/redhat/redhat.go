// Package redhat reads Red Hat's security data: CSAF advisories (RHSA) and
// VEX files from Red Hat's CSAF provider, and the Security Data API
// ("hydra") CVE documents. Products map to distro "rhel" with the major
// release from the product CPE and the source RPM as the package.
package redhat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/feed/csaf"
)

// Name is the connector name and the mirror directory (DIR/redhat/…).
const Name = "redhat"

// Public endpoints.
const (
	ProviderURL = "https://security.access.redhat.com/data/csaf/v2/provider-metadata.json"
	HydraURL    = "https://access.redhat.com/hydra/rest/securitydata"
)

func init() { feed.Register(New()) }

// Connector reads Red Hat security data.
type Connector struct{}

// New returns the Red Hat connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     ProviderURL + " ; " + HydraURL + "/cve.json",
		Format:  "CSAF 2.0 advisories and VEX; Security Data API CVE JSON",
		License: "CC-BY-4.0 (Red Hat security data)",
	}
}

// affected maps a CSAF product status the Red Hat way: the component is
// an RPM (its purl), the platform a RHEL product whose CPE gives the
// release. Binary RPMs repeat the source RPM's fact; only arch=src (or
// arch-less) components are kept.
func affected(s csaf.Status) (feed.Affected, bool) {
	a, ok := s.Affected()
	if !ok || a.Ecosystem != "rpm" {
		return a, ok
	}
	comp := s.Product
	if comp.Component != nil {
		comp = comp.Component
	}
	pu, _ := csaf.ParsePURL(comp.PURL)
	if arch := pu.Qualifiers.Get("arch"); arch != "" && arch != "src" {
		return feed.Affected{}, false
	}
	a.PURL = comp.PURL
	if s.Product.Platform != nil {
		a.Distro, a.Release = platform(s.Product.Platform.CPE)
	}
	if e := pu.Qualifiers.Get("epoch"); e != "" && e != "0" && a.FixedVersion != "" {
		a.FixedVersion = e + ":" + a.FixedVersion
	}
	return a, true
}

// fetch carries one Fetch's dedup state: a CVE seen in a CSAF VEX file is
// not sent again from the Security Data API.
type fetch struct {
	src   feed.Source
	since time.Time
	out   chan<- feed.Record
	seen  map[string]bool
}

func (f *fetch) records(d *csaf.Document) []feed.Record {
	var out []feed.Record
	for _, r := range d.Records(Name, affected) {
		if !f.seen[r.ID] {
			f.seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

func (f *fetch) hydra(ctx context.Context, d feed.Doc) error {
	h, err := ParseHydra(bytes.NewReader(d.Data))
	if err != nil {
		f.src.Report(ctx, Name, d.Path, fmt.Errorf("neither CSAF nor a Security Data API CVE: %w", err))
		return nil
	}
	r := h.Record()
	if f.seen[r.ID] {
		return nil
	}
	f.seen[r.ID] = true
	r.DocURL, r.DocDigest, r.FetchedAt = d.Path, d.Digest, time.Now().UTC()
	return feed.Send(ctx, f.out, r)
}

// Fetch implements feed.Connector. Online, the CSAF provider is read in
// full (changes.csv makes since apply); the Security Data API is asked
// for the CVEs changed after since, and only when since is set — a full
// listing is tens of thousands of requests, which the CSAF VEX files
// already cover.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	f := &fetch{src: src, since: since, out: out, seen: map[string]bool{}}
	if src.Mirror != "" {
		return csaf.FetchMirror(ctx, Name, src, since, out, f.records, func(d feed.Doc) error { return f.hydra(ctx, d) })
	}
	provider, hydra := ProviderURL, HydraURL
	if src.BaseURL != "" {
		base := strings.TrimRight(src.BaseURL, "/")
		provider, hydra = base+"/data/csaf/v2/provider-metadata.json", base+"/hydra/rest/securitydata"
	}
	if err := csaf.FetchProviders(ctx, Name, src, since, out, []string{provider}, f.records); err != nil {
		return err
	}
	if since.IsZero() {
		return nil
	}
	return f.fetchHydra(ctx, hydra)
}

// hydraPerPage is the page size asked of the Security Data API.
const hydraPerPage = 1000

// fetchHydra pages through cve.json?after=DATE and reads each CVE's document.
func (f *fetch) fetchHydra(ctx context.Context, base string) error {
	client := f.src.HTTP()
	for page := 1; page <= 1000; page++ {
		u := fmt.Sprintf("%s/cve.json?after=%s&per_page=%d&page=%d", base, f.since.UTC().Format("2006-01-02"), hydraPerPage, page)
		resp, err := client.Get(ctx, u, nil, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			f.src.Report(ctx, Name, u, err)
			return nil
		}
		var list []struct {
			CVE         string `json:"CVE"`
			ResourceURL string `json:"resource_url"`
		}
		if err := json.Unmarshal(resp.Body, &list); err != nil {
			f.src.Report(ctx, Name, u, fmt.Errorf("CVE list JSON: %w", err))
			return nil
		}
		for _, e := range list {
			if !strings.HasPrefix(e.CVE, "CVE-") || strings.ContainsAny(e.CVE, "/?#") {
				continue
			}
			// The resource URL names the public host; ask the configured one.
			du := base + "/cve/" + e.CVE + ".json"
			d, err := client.Get(ctx, du, nil, nil)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				f.src.Report(ctx, Name, du, err)
				continue
			}
			if err := f.hydra(ctx, feed.Doc{Path: du, Data: d.Body, Digest: d.Digest, Kind: feed.Sniff(d.Body)}); err != nil {
				return err
			}
		}
		if len(list) < hydraPerPage {
			return nil
		}
	}
	return nil
}
