// Package ubuntu reads Canonical's security data: Ubuntu Security Notices
// and Ubuntu CVE records in OSV form (USN-…, UBUNTU-CVE-…; ecosystems
// "Ubuntu:22.04:LTS", "Ubuntu:Pro:16.04:LTS") and the OpenVEX documents
// (vex/cve/YYYY/CVE-….json).
package ubuntu

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/ubuntu/…).
const Name = "ubuntu"

// Public endpoints: osv.dev's export of Canonical's OSV records and
// Canonical's VEX tarball (both built from canonical/ubuntu-security-notices).
const (
	OSVURL = "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip"
	VEXURL = "https://security-metadata.canonical.com/vex/vex-all.tar.xz"
)

func init() { feed.Register(New()) }

// Connector reads Ubuntu OSV and VEX data.
type Connector struct{}

// New returns the Ubuntu connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     OSVURL + " ; " + VEXURL,
		Format:  "OSV JSON (USN, UBUNTU-CVE), OpenVEX JSON; zip / tar.xz",
		License: "CC-BY-SA-4.0 (canonical/ubuntu-security-notices)",
	}
}

// run carries one Fetch's state.
type run struct {
	src   feed.Source
	since time.Time
	out   chan<- feed.Record
	seen  map[string]bool
	now   time.Time
}

// Fetch implements feed.Connector. Records modified before since are
// skipped. A mirror's files are read newest snapshot first; when the same
// record id appears twice, the first (newest) copy wins.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	r := &run{src: src, since: since, out: out, seen: map[string]bool{}, now: time.Now().UTC()}
	if src.Mirror != "" {
		files, err := src.Files(ctx, Name, nil)
		if err != nil {
			return err
		}
		files = feed.Newest(files, func(f feed.File) string { return feed.StripCompression(path.Base(f.Rel)) })
		feed.ByNewest(files)
		return src.ReadFiles(ctx, Name, files, func(d feed.Doc) error { return r.doc(ctx, d) })
	}
	urls := []string{OSVURL, VEXURL}
	if src.BaseURL != "" {
		base := strings.TrimRight(src.BaseURL, "/")
		urls = []string{base + "/Ubuntu/all.zip", base + "/vex/vex-all.tar.xz"}
	}
	client := src.HTTP()
	var failed []error
	for _, u := range urls {
		resp, err := client.Get(ctx, u, nil, src.Validators)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			src.Report(ctx, Name, u, err)
			failed = append(failed, err)
			continue
		}
		if resp.NotModified {
			continue
		}
		if err := src.ReadBytes(ctx, Name, u, resp.Body, func(d feed.Doc) error { return r.doc(ctx, d) }); err != nil {
			return err
		}
	}
	if len(failed) == len(urls) {
		return fmt.Errorf("ubuntu: every document failed: %w", errors.Join(failed...))
	}
	return nil
}

// doc handles one document: OSV, OpenVEX, or a tar of them.
func (r *run) doc(ctx context.Context, d feed.Doc) error {
	if isTar(d.Data) {
		return r.tar(ctx, d)
	}
	if d.Kind != feed.KindJSON {
		r.src.Report(ctx, Name, d.Path, errors.New("not JSON (expected an OSV or OpenVEX document)"))
		return nil
	}
	var recs []feed.Record
	if bytes.Contains(d.Data[:min(len(d.Data), 512)], []byte("openvex")) {
		v, err := ParseVEX(bytes.NewReader(d.Data))
		if err != nil {
			r.src.Report(ctx, Name, d.Path, err)
			return nil
		}
		recs = v.Records()
	} else {
		o, err := ParseOSV(bytes.NewReader(d.Data))
		if err != nil {
			r.src.Report(ctx, Name, d.Path, err)
			return nil
		}
		recs = []feed.Record{o.Record()}
	}
	for _, rec := range recs {
		if r.seen[rec.ID] {
			continue
		}
		r.seen[rec.ID] = true
		if !r.since.IsZero() && !rec.Modified.IsZero() && rec.Modified.Before(r.since) {
			continue
		}
		rec.DocURL, rec.DocDigest, rec.FetchedAt = d.Path, d.Digest, r.now
		if err := feed.Send(ctx, r.out, rec); err != nil {
			return err
		}
	}
	return nil
}

func isTar(b []byte) bool { return len(b) > 262 && string(b[257:262]) == "ustar" }

// tar reads each regular member of a (decompressed) tarball as a document.
func (r *run) tar(ctx context.Context, d feed.Doc) error {
	tr := tar.NewReader(bytes.NewReader(d.Data))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			r.src.Report(ctx, Name, d.Path, fmt.Errorf("tar: %w", err))
			return nil
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		member := d.Path + "!" + h.Name
		if h.Size > maxDoc {
			r.src.Report(ctx, Name, member, fmt.Errorf("member of %d bytes exceeds %d", h.Size, maxDoc))
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxDoc))
		if err != nil {
			r.src.Report(ctx, Name, member, err)
			return nil
		}
		md := feed.Doc{Path: member, Kind: feed.Sniff(data), Data: data, ModTime: d.ModTime, Digest: feed.Digest(data)}
		if err := r.doc(ctx, md); err != nil {
			return err
		}
	}
}
