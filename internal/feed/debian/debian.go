// Package debian reads the Debian security tracker: the JSON dump of every
// CVE per source package and release, and the DSA / DLA advisory lists.
//
// Tracker records are keyed by CVE and carry one affected entry per
// (source package, release) with its state; DSA/DLA records are keyed by
// the advisory id, carry their CVEs as aliases and the fixed version per
// release.
package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/debian/…).
const Name = "debian"

// Public endpoints.
const (
	TrackerURL = "https://security-tracker.debian.org/tracker/data/json"
	ListsURL   = "https://salsa.debian.org/security-tracker-team/security-tracker/-/raw/master/data"
)

func init() { feed.Register(New()) }

// Connector reads the Debian security tracker.
type Connector struct{}

// New returns the Debian connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     TrackerURL + " ; " + ListsURL + "/{DSA,DLA}/list",
		Format:  "Debian security tracker JSON; DSA/DLA text lists",
		License: "Debian security tracker data, public (DFSG-free, see security-tracker.debian.org)",
	}
}

// Document kinds, found by content.
const (
	kindTracker = "tracker-json"
	kindDSA     = "DSA-list"
	kindDLA     = "DLA-list"
)

// classify tells a tracker document's kind from its content.
func classify(data []byte) (string, error) {
	switch {
	case TrackerIsJSON(data):
		return kindTracker, nil
	case ListIsAdvisories(data):
		// The first header names the list: DSA-…, DLA-… (DTSA counts as DSA).
		if m := reHeader.FindSubmatch(firstLine(data)); m != nil && bytes.HasPrefix(m[2], []byte("DLA-")) {
			return kindDLA, nil
		}
		return kindDSA, nil
	}
	return "", errors.New("not a Debian tracker JSON dump nor a DSA/DLA list")
}

func firstLine(data []byte) []byte {
	for _, line := range bytes.Split(data[:min(len(data), 4096)], []byte("\n")) {
		if l := bytes.TrimSpace(line); len(l) > 0 {
			return l
		}
	}
	return nil
}

// Fetch implements feed.Connector. since skips DSA/DLA entries dated
// before it; the tracker dump has no dates and is read whole (ETag /
// Last-Modified make a second online sync cheap).
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	best := map[string]feed.Doc{}
	pick := func(d feed.Doc) error {
		kind, err := classify(d.Data)
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		if cur, ok := best[kind]; ok && !newer(d, cur) {
			return nil
		}
		best[kind] = d
		return nil
	}
	if src.Mirror != "" {
		if err := src.Walk(ctx, Name, nil, pick); err != nil {
			return err
		}
	} else if err := c.fetchHTTP(ctx, src, pick); err != nil {
		return err
	}
	for _, kind := range []string{kindDSA, kindDLA, kindTracker} {
		d, ok := best[kind]
		if !ok {
			continue
		}
		if err := emit(ctx, src, d, kind, since, out); err != nil {
			return err
		}
	}
	return nil
}

func (c *Connector) fetchHTTP(ctx context.Context, src feed.Source, fn func(feed.Doc) error) error {
	urls := []string{ListsURL + "/DSA/list", ListsURL + "/DLA/list", TrackerURL}
	if src.BaseURL != "" {
		base := strings.TrimRight(src.BaseURL, "/")
		urls = []string{base + "/data/DSA/list", base + "/data/DLA/list", base + "/tracker/data/json"}
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
		if err := src.ReadBytes(ctx, Name, u, resp.Body, fn); err != nil {
			return err
		}
	}
	if len(failed) == len(urls) {
		return fmt.Errorf("debian: every document failed: %w", errors.Join(failed...))
	}
	return nil
}

func emit(ctx context.Context, src feed.Source, d feed.Doc, kind string, since time.Time, out chan<- feed.Record) error {
	var recs []feed.Record
	switch kind {
	case kindTracker:
		r, err := ParseTracker(bytes.NewReader(d.Data))
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
		}
		recs = r
	default:
		advs, skipped, err := ParseList(bytes.NewReader(d.Data))
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
		}
		if skipped > 0 {
			feedLog(ctx, d.Path, skipped)
		}
		for _, a := range advs {
			if !since.IsZero() && !a.Date.IsZero() && a.Date.Before(since.Truncate(24*time.Hour)) {
				continue
			}
			recs = append(recs, a.Record())
		}
	}
	now := time.Now().UTC()
	for _, r := range recs {
		r.DocURL, r.DocDigest, r.FetchedAt = d.Path, d.Digest, now
		if err := feed.Send(ctx, out, r); err != nil {
			return err
		}
	}
	return nil
}

// newer reports whether a is a newer snapshot than b: a date in its path
// (file or directory name) wins over the modification time.
func newer(a, b feed.Doc) bool {
	ta, tb := snapshot(a), snapshot(b)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a.Path > b.Path
}

func snapshot(d feed.Doc) time.Time {
	p := filepath.ToSlash(d.Path)
	segs := strings.Split(p, "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if t := feed.SnapshotTime(segs[i], time.Time{}); !t.IsZero() {
			return t
		}
	}
	return d.ModTime
}
