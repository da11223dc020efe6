// Package jvn reads JVN iPedia (Japan, IPA and JPCERT/CC) through the
// MyJVN API: JVNDB RSS 3.2 (data feeds and getVulnOverviewList), VULDEF
// detail documents (getVulnDetailInfo) and the MyJVN JSON API. Records are
// keyed JVNDB-… with CVE and JVN# aliases, titles (Japanese) and CVSS.
package jvn

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/jvn/…).
const Name = "jvn"

// URL is the MyJVN API endpoint.
const URL = "https://jvndb.jvn.jp/myjvn"

// pageSize is MyJVN's maximum maxCountItem for getVulnOverviewList.
const pageSize = 50

func init() { feed.Register(New()) }

// Connector reads JVN iPedia.
type Connector struct{}

// New returns the JVN connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     URL + "?method=getVulnOverviewList",
		Format:  "MyJVN API: JVNDB RSS 3.2, VULDEF XML, MyJVN JSON",
		License: "JVN iPedia terms of use (jvndb.jvn.jp)",
	}
}

// merged accumulates records by id: the same JVNDB entry in an overview
// list, a data feed and a detail document is one record with everything.
type merged struct {
	byID  map[string]*feed.Record
	order []string
}

func (m *merged) add(r feed.Record, d feed.Doc) {
	cur, ok := m.byID[r.ID]
	if !ok {
		r.DocURL, r.DocDigest = d.Path, d.Digest
		m.byID[r.ID] = &r
		m.order = append(m.order, r.ID)
		return
	}
	for _, a := range r.Aliases {
		addUnique(&cur.Aliases, a)
	}
	for _, c := range r.CWEs {
		addUnique(&cur.CWEs, c)
	}
	for _, u := range r.URLs {
		addUnique(&cur.URLs, u)
	}
	for _, s := range r.Severity {
		dup := false
		for _, x := range cur.Severity {
			dup = dup || (x.Type == s.Type && x.Vector == s.Vector)
		}
		if !dup {
			cur.Severity = append(cur.Severity, s)
		}
	}
	if len(r.Details) > len(cur.Details) {
		cur.Details = r.Details
	}
	if r.Modified.After(cur.Modified) {
		cur.Modified, cur.DocURL, cur.DocDigest = r.Modified, d.Path, d.Digest
	}
}

// Fetch implements feed.Connector. Online it pages through
// getVulnOverviewList (entries updated since since, or MyJVN's default
// window when since is zero).
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	m := &merged{byID: map[string]*feed.Record{}}
	take := func(d feed.Doc) error {
		doc, err := Parse(bytes.NewReader(d.Data))
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		if doc.Kind == KindAlert {
			slog.DebugContext(ctx, "jvn: alert list skipped (no vulnerability records)", "doc", d.Path)
		}
		for _, r := range doc.Records {
			m.add(r, d)
		}
		return nil
	}
	if src.Mirror != "" {
		if err := src.Walk(ctx, Name, nil, take); err != nil {
			return err
		}
	} else if err := c.fetchHTTP(ctx, src, since, take); err != nil {
		return err
	}
	sort.Strings(m.order)
	now := time.Now().UTC()
	for _, id := range m.order {
		r := m.byID[id]
		if !since.IsZero() && !r.Modified.IsZero() && r.Modified.Before(since) {
			continue
		}
		r.FetchedAt = now
		if err := feed.Send(ctx, out, *r); err != nil {
			return err
		}
	}
	return nil
}

func (c *Connector) fetchHTTP(ctx context.Context, src feed.Source, since time.Time, fn func(feed.Doc) error) error {
	base := URL
	if src.BaseURL != "" {
		base = strings.TrimRight(src.BaseURL, "/") + "/myjvn"
	}
	client := src.HTTP()
	start := 1
	for pages := 0; pages < 10000; pages++ {
		q := url.Values{}
		q.Set("method", "getVulnOverviewList")
		q.Set("feed", "hnd")
		q.Set("lang", "ja")
		q.Set("startItem", fmt.Sprint(start))
		q.Set("maxCountItem", fmt.Sprint(pageSize))
		if !since.IsZero() {
			q.Set("rangeDatePublic", "n")
			q.Set("rangeDatePublished", "n")
			q.Set("rangeDateFirstPublished", "n")
			q.Set("dateLastUpdatedStartY", since.Format("2006"))
			q.Set("dateLastUpdatedStartM", since.Format("01"))
			q.Set("dateLastUpdatedStartD", since.Format("02"))
		}
		u := base + "?" + q.Encode()
		resp, err := client.Get(ctx, u, nil, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if start == 1 {
				return fmt.Errorf("jvn: %w", err)
			}
			src.Report(ctx, Name, u, err)
			return nil
		}
		doc, err := Parse(bytes.NewReader(resp.Body))
		if err != nil {
			src.Report(ctx, Name, u, err)
			return nil
		}
		if err := fn(feed.Doc{Path: u, Kind: feed.Sniff(resp.Body), Data: resp.Body, Digest: resp.Digest, ModTime: time.Now()}); err != nil {
			return err
		}
		st := doc.Status
		if st.TotalResRet <= 0 || st.FirstRes+st.TotalResRet > st.TotalRes {
			return nil
		}
		start = st.FirstRes + st.TotalResRet
	}
	return nil
}
