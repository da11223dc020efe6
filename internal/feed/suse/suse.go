// Package suse reads SUSE's OVAL vulnerability definitions: per CVE, the
// SUSE products (mapped to os-release ID and VERSION_ID: sles 15.1, sled 15,
// opensuse-leap 15.3) and the package versions that fix it, or that a
// package is not affected.
package suse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/suse/…).
const Name = "suse"

// BaseURL is SUSE's OVAL directory.
const BaseURL = "https://ftp.suse.com/pub/projects/security/oval/"

// DefaultFiles are the OVAL files read by default.
var DefaultFiles = []string{
	"suse.linux.enterprise.server.15.xml.gz",
	"suse.linux.enterprise.server.12.xml.gz",
	"opensuse.leap.15.6.xml.gz",
}

func init() { feed.Register(New()) }

// Connector reads SUSE OVAL.
type Connector struct {
	// Files names the OVAL files under the OVAL directory; nil means DefaultFiles.
	Files []string
}

// New returns the SUSE connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (c *Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     BaseURL + "{" + strings.Join(c.files(), ",") + "}",
		Format:  "OVAL 5 definitions (XML, gzip)",
		License: "SUSE security data, public (CC-BY-4.0)",
	}
}

func (c *Connector) files() []string {
	if c.Files != nil {
		return c.Files
	}
	return DefaultFiles
}

// Fetch implements feed.Connector. Definitions updated before since are
// skipped. A CVE in several OVAL files (products) is one record.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	byID := map[string]*feed.Record{}
	var order []string
	take := func(d feed.Doc) error {
		o, err := Parse(bytes.NewReader(d.Data))
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		for _, r := range o.Records() {
			if cur, ok := byID[r.ID]; ok {
				for _, a := range r.Affected {
					cur.Affected = appendAffected(cur.Affected, a)
				}
				for _, al := range r.Aliases {
					if !contains(cur.Aliases, al) {
						cur.Aliases = append(cur.Aliases, al)
					}
				}
				continue
			}
			r.DocURL, r.DocDigest = d.Path, d.Digest
			byID[r.ID] = &r
			order = append(order, r.ID)
		}
		return nil
	}
	if src.Mirror != "" {
		if err := src.Walk(ctx, Name, nil, take); err != nil {
			return err
		}
	} else {
		base := BaseURL
		if src.BaseURL != "" {
			base = strings.TrimRight(src.BaseURL, "/") + "/pub/projects/security/oval/"
		}
		client := src.HTTP()
		var failed []error
		for _, f := range c.files() {
			u := base + f
			// No validators: records merge every file, so a file skipped as
			// unchanged would drop its products from the records.
			resp, err := client.Get(ctx, u, nil, nil)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				src.Report(ctx, Name, u, err)
				failed = append(failed, err)
				continue
			}
			if err := src.ReadBytes(ctx, Name, u, resp.Body, take); err != nil {
				return err
			}
		}
		if len(failed) == len(c.files()) {
			return fmt.Errorf("suse: no OVAL file could be read: %w", errors.Join(failed...))
		}
	}
	now := time.Now().UTC()
	for _, id := range order {
		r := byID[id]
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
