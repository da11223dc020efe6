// Package certfr reads CERT-FR (ANSSI) security advisories ("avis"): the
// JSON form of each advisory (https://www.cert.ssi.gouv.fr/avis/<REF>/json/),
// found online through the advisories' RSS feed. Records are keyed
// CERTFR-…-AVI-… with their CVEs as aliases; CERT-FR gives no severity and
// names affected products in prose, which goes to Details.
package certfr

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/cert-fr/…).
const Name = "cert-fr"

// Public endpoints.
const (
	SiteURL = "https://www.cert.ssi.gouv.fr"
	FeedURL = SiteURL + "/avis/feed/"
)

// maxDoc bounds one advisory or feed.
const maxDoc = 16 << 20

func init() { feed.Register(New()) }

// Connector reads CERT-FR advisories.
type Connector struct{}

// New returns the CERT-FR connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     FeedURL + " ; " + SiteURL + "/avis/<REF>/json/",
		Format:  "CERT-FR avis JSON (schema " + SiteURL + "/openapi.json), RSS index",
		License: "as stated on cert.ssi.gouv.fr (reuse with attribution)",
	}
}

// Avis is a CERT-FR advisory as its JSON gives it.
type Avis struct {
	Reference       string `json:"reference"`
	Title           string `json:"title"`
	Summary         string `json:"summary"`
	Content         string `json:"content"`
	AffectedSystems []struct {
		Description string `json:"description"`
		Product     struct {
			Name   string `json:"name"`
			Vendor struct {
				Name string `json:"name"`
			} `json:"vendor"`
		} `json:"product"`
	} `json:"affected_systems"`
	AffectedSystemsContent *string `json:"affected_systems_content"`
	CVEs                   []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"cves"`
	Revisions []struct {
		Description  string `json:"description"`
		RevisionDate string `json:"revision_date"`
	} `json:"revisions"`
	Risks []struct {
		Description string `json:"description"`
	} `json:"risks"`
	VendorAdvisories []struct {
		Title string `json:"title"`
		URL   string `json:"url"`
	} `json:"vendor_advisories"`
	Links []struct {
		URL string `json:"url"`
	} `json:"links"`
}

var reRef = regexp.MustCompile(`^CERTFR-\d{4}-(?:AVI|ALE|ACT|IOC|CTI|DUR|INF)-\d+$`)

// Parse reads one advisory.
func Parse(r io.Reader) (*Avis, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxDoc+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxDoc {
		return nil, fmt.Errorf("advisory exceeds %d bytes", maxDoc)
	}
	var a Avis
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("CERT-FR JSON: %w", err)
	}
	if !reRef.MatchString(a.Reference) {
		return nil, fmt.Errorf("CERT-FR JSON: reference %q is not a CERT-FR reference", a.Reference)
	}
	return &a, nil
}

// revisionTime reads "2022-11-02T00:00:00.000000" (no zone: Paris time is
// what CERT-FR means; dates only matter here, taken as UTC).
func revisionTime(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05.999999", time.RFC3339Nano, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// Record turns the advisory into a record.
func (a *Avis) Record() feed.Record {
	r := feed.Record{ID: a.Reference, Source: Name, Summary: a.Title,
		URLs: []string{SiteURL + "/avis/" + a.Reference + "/"}}
	for _, c := range a.CVEs {
		if strings.HasPrefix(c.Name, "CVE-") && !contains(r.Aliases, c.Name) {
			r.Aliases = append(r.Aliases, c.Name)
		}
	}
	for i, rev := range a.Revisions {
		t := revisionTime(rev.RevisionDate)
		if i == 0 || (!t.IsZero() && t.Before(r.Published)) {
			r.Published = t
		}
		if t.After(r.Modified) {
			r.Modified = t
		}
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(a.Summary))
	if len(a.AffectedSystems) > 0 {
		b.WriteString("\n\nSystèmes affectés :")
		for _, s := range a.AffectedSystems {
			b.WriteString("\n- " + s.Description)
		}
	} else if a.AffectedSystemsContent != nil && *a.AffectedSystemsContent != "" {
		b.WriteString("\n\nSystèmes affectés : " + strings.TrimSpace(*a.AffectedSystemsContent))
	}
	r.Details = b.String()
	for _, v := range a.VendorAdvisories {
		if v.URL != "" {
			r.URLs = append(r.URLs, v.URL)
		}
	}
	for _, l := range a.Links {
		if l.URL != "" {
			r.URLs = append(r.URLs, l.URL)
		}
	}
	return r
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// rss is the advisories' RSS 2.0 feed.
type rss struct {
	Items []struct {
		Title string `xml:"title"`
		Link  string `xml:"link"`
		GUID  string `xml:"guid"`
	} `xml:"channel>item"`
}

// Fetch implements feed.Connector. Advisories last revised before since
// are skipped; online, the RSS feed lists the recent advisories and each
// one's JSON is read.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	seen := map[string]bool{}
	now := time.Now().UTC()
	take := func(d feed.Doc) error {
		a, err := Parse(bytes.NewReader(d.Data))
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		r := a.Record()
		if seen[r.ID] || (!since.IsZero() && !r.Modified.IsZero() && r.Modified.Before(since)) {
			return nil
		}
		seen[r.ID] = true
		r.DocURL, r.DocDigest, r.FetchedAt = d.Path, d.Digest, now
		return feed.Send(ctx, out, r)
	}
	if src.Mirror != "" {
		files, err := src.Files(ctx, Name, nil)
		if err != nil {
			return err
		}
		feed.ByNewest(files) // the newest copy of an advisory wins
		return src.ReadFiles(ctx, Name, files, take)
	}
	site := SiteURL
	if src.BaseURL != "" {
		site = strings.TrimRight(src.BaseURL, "/")
	}
	client := src.HTTP()
	resp, err := client.Get(ctx, site+"/avis/feed/", nil, src.Validators)
	if err != nil {
		return fmt.Errorf("cert-fr: %w", err)
	}
	if resp.NotModified {
		return nil
	}
	var f rss
	if err := xml.NewDecoder(bytes.NewReader(resp.Body)).Decode(&f); err != nil {
		return fmt.Errorf("cert-fr: RSS %s: %w", resp.URL, err)
	}
	if len(f.Items) == 0 {
		return errors.New("cert-fr: the RSS feed lists no advisory")
	}
	for _, it := range f.Items {
		ref := refFromLink(it.Link)
		if ref == "" {
			src.Report(ctx, Name, resp.URL, fmt.Errorf("item %q links to no advisory", it.Title))
			continue
		}
		u := site + "/avis/" + ref + "/json/"
		d, err := client.Get(ctx, u, nil, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			src.Report(ctx, Name, u, err)
			continue
		}
		if err := take(feed.Doc{Path: u, Data: d.Body, Digest: d.Digest, Kind: feed.Sniff(d.Body)}); err != nil {
			return err
		}
	}
	return nil
}

var reLinkRef = regexp.MustCompile(`/avis/(CERTFR-\d{4}-AVI-\d+)/?$`)

// refFromLink takes the reference from an item link; only the reference
// is used, so a feed cannot send the connector to another host.
func refFromLink(link string) string {
	if m := reLinkRef.FindStringSubmatch(strings.TrimSpace(link)); m != nil {
		return m[1]
	}
	return ""
}
