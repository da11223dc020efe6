// Package csaf reads CSAF 2.0 providers: provider-metadata.json, directory
// distributions (changes.csv, index.txt) and ROLIE feeds, with the
// per-document .sha256/.sha512 checksums and OpenPGP .asc signatures
// checked against the keys the provider metadata names. One connector
// serves every CERT and vendor that publishes CSAF (CERT-Bund/BSI,
// Siemens, Cisco, SUSE, Stackable, …); the redhat package reuses the
// document model with Red Hat's own product mapping.
package csaf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/csaf/…).
const Name = "csaf"

// DefaultProviders are the provider-metadata.json URLs read by default.
var DefaultProviders = []string{
	"https://wid.cert-bund.de/.well-known/csaf/provider-metadata.json",
	"https://cert-portal.siemens.com/productcert/csaf/provider-metadata.json",
	"https://www.cisco.com/.well-known/csaf/provider-metadata.json",
	"https://advisories.stackable.tech/.well-known/csaf/provider-metadata.json",
}

func init() { feed.Register(New()) }

// Connector reads CSAF providers.
type Connector struct {
	// Providers lists provider-metadata.json URLs; nil means DefaultProviders.
	Providers []string
}

// New returns the CSAF connector with the default providers.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (c *Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     strings.Join(c.providers(), " ; "),
		Format:  "CSAF 2.0 (provider-metadata.json, ROLIE, directory listings; SHA-256/512 and OpenPGP checked)",
		License: "per provider (document.distribution / terms of use; e.g. CC-BY-4.0)",
	}
}

func (c *Connector) providers() []string {
	if c.Providers != nil {
		return c.Providers
	}
	return DefaultProviders
}

// Fetch implements feed.Connector. Online, with src.BaseURL set, the one
// provider at BaseURL/.well-known/csaf/provider-metadata.json is read.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	// Scores name the publisher; the record's source is the connector, so
	// that provenance and `db status` count it under csaf.
	records := func(d *Document) []feed.Record {
		rs := d.Records(publisherSource(d), nil)
		for i := range rs {
			rs[i].Source = Name
		}
		return rs
	}
	if src.Mirror != "" {
		return FetchMirror(ctx, Name, src, since, out, records, nil)
	}
	urls := c.providers()
	if src.BaseURL != "" {
		urls = []string{strings.TrimRight(src.BaseURL, "/") + "/.well-known/csaf/provider-metadata.json"}
	}
	return FetchProviders(ctx, Name, src, since, out, urls, records)
}

// publisherSource names who scored a document's severities: the CSAF
// publisher's name, else "csaf".
func publisherSource(d *Document) string {
	if n := d.Document.Publisher.Name; n != "" {
		return n
	}
	return Name
}

// FetchProviders reads each provider metadata URL over HTTP and every
// advisory it distributes. A provider that cannot be read is a problem;
// only when none can is it an error.
func FetchProviders(ctx context.Context, name string, src feed.Source, since time.Time, out chan<- feed.Record, mdURLs []string, records func(*Document) []feed.Record) error {
	st := httpStore{src: src, client: src.HTTP()}
	p := &provider{name: name, src: src, st: st, since: since, out: out, seen: map[string]bool{}, visited: map[string]bool{}, records: records}
	var failed []error
	for _, u := range mdURLs {
		data, where, err := st.get(ctx, u, maxSmall)
		var md *ProviderMetadata
		if err == nil {
			md, err = ParseProviderMetadata(bytes.NewReader(data))
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			src.Report(ctx, name, where, err)
			failed = append(failed, err)
			continue
		}
		if src.BaseURL != "" {
			// The metadata names the provider's real origin; read it from BaseURL.
			st.from, st.to = origin(md.CanonicalURL), strings.TrimRight(src.BaseURL, "/")
			p.st = st
		}
		if err := p.run(ctx, md); err != nil {
			return err
		}
	}
	if len(failed) > 0 && len(failed) == len(mdURLs) {
		return fmt.Errorf("%s: no provider could be read: %w", name, errors.Join(failed...))
	}
	return nil
}

// FetchMirror reads a mirror: every provider-metadata.json found (by
// content, at any depth) is followed as online, its URLs mapped into the
// mirror; CSAF documents outside any provider listing are read too (their
// sibling checksum is checked when present). Documents that are neither
// are handed to other, or reported when other is nil.
func FetchMirror(ctx context.Context, name string, src feed.Source, since time.Time, out chan<- feed.Record, records func(*Document) []feed.Record, other func(feed.Doc) error) error {
	files, err := src.Files(ctx, name, nil)
	if err != nil {
		return err
	}
	p := &provider{name: name, src: src, since: since, out: out, seen: map[string]bool{}, visited: map[string]bool{}, records: records}
	feed.ByNewest(files) // newest snapshot first: its records win
	for _, f := range files {
		if !looksLikeProviderMetadata(f.Path) {
			continue
		}
		data, err := os.ReadFile(f.Path)
		if err != nil {
			src.Report(ctx, name, f.Path, err)
			continue
		}
		md, err := ParseProviderMetadata(bytes.NewReader(data))
		if err != nil {
			src.Report(ctx, name, f.Path, err)
			continue
		}
		p.visited[f.Path] = true
		p.st = mirrorStoreFor(f.Path, md.CanonicalURL)
		if err := p.run(ctx, md); err != nil {
			return err
		}
	}
	var loose []feed.File
	for _, f := range files {
		if !p.visited[f.Path] && !sidecar(f.Rel) {
			loose = append(loose, f)
		}
	}
	return src.ReadFiles(ctx, name, loose, func(d feed.Doc) error {
		if d.Kind == feed.KindJSON && bytes.Contains(d.Data[:min(len(d.Data), 64<<10)], []byte(`"csaf_version"`)) {
			if sum, err := os.ReadFile(d.Path + ".sha256"); err == nil {
				if err := CheckHash(d.Data, d.Path, sum, "sha256"); err != nil {
					src.Report(ctx, name, d.Path, err)
					return nil
				}
			}
			return p.emit(ctx, d.Path, d.Data)
		}
		if other != nil {
			return other(d)
		}
		src.Report(ctx, name, d.Path, errors.New("not a CSAF document"))
		return nil
	})
}

// sidecar: files that accompany documents rather than being documents.
func sidecar(rel string) bool {
	switch strings.ToLower(path.Ext(rel)) {
	case ".asc", ".sha256", ".sha512", ".txt", ".csv", ".md":
		return true
	}
	return false
}

// looksLikeProviderMetadata peeks at the first bytes of a file.
func looksLikeProviderMetadata(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	head, _ := io.ReadAll(io.LimitReader(f, 8<<10))
	return feed.Sniff(head) == feed.KindJSON && bytes.Contains(head, []byte(`"canonical_url"`)) &&
		bytes.Contains(head, []byte(`"metadata_version"`))
}

// mirrorStoreFor maps the provider's URLs into the mirror. When the file
// sits where its canonical URL says (…/.well-known/csaf/provider-metadata.json),
// its root stands for the site root; otherwise its directory stands for
// the canonical URL's directory.
func mirrorStoreFor(file, canonical string) mirrorStore {
	cpath := "/.well-known/csaf/provider-metadata.json"
	if i := strings.Index(canonical, "://"); i >= 0 {
		if j := strings.Index(canonical[i+3:], "/"); j >= 0 {
			cpath = canonical[i+3+j:]
		}
	}
	slash := filepath.ToSlash(file)
	if strings.HasSuffix(slash, cpath) {
		return mirrorStore{root: filepath.FromSlash(strings.TrimSuffix(slash, cpath)), prefix: "/"}
	}
	return mirrorStore{root: filepath.Dir(file), prefix: path.Dir(cpath) + "/"}
}
