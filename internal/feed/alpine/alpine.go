// Package alpine reads the Alpine Linux security database (secdb): one
// document per release and repository (v3.11/main.json, …/community.yaml)
// listing, per package, the versions that fix each CVE.
package alpine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/feed"
)

// Name is the connector name and the mirror directory (DIR/alpine/…).
const Name = "alpine"

// URL is the public secdb.
const URL = "https://secdb.alpinelinux.org/"

func init() { feed.Register(New()) }

// Connector reads the Alpine secdb.
type Connector struct{}

// New returns the Alpine connector.
func New() *Connector { return &Connector{} }

// Name implements feed.Connector.
func (*Connector) Name() string { return Name }

// Info implements feed.Connector.
func (*Connector) Info() feed.Info {
	return feed.Info{
		Name:    Name,
		URL:     URL,
		Format:  "Alpine secdb JSON/YAML (v3.x/main, community)",
		License: "Alpine Linux secdb, public (alpinelinux/alpine-secdb, MIT)",
	}
}

type parsed struct {
	db   SecDB
	doc  feed.Doc
	when time.Time
}

// Fetch implements feed.Connector. The secdb has no dates, so since is
// ignored; the whole secdb is a few MB. When a mirror
// holds several snapshots of one release/repository, the newest wins.
func (c *Connector) Fetch(ctx context.Context, src feed.Source, since time.Time, out chan<- feed.Record) error {
	best := map[string]parsed{}
	take := func(d feed.Doc) error {
		db, err := Parse(bytes.NewReader(d.Data))
		if err != nil {
			src.Report(ctx, Name, d.Path, err)
			return nil
		}
		p := parsed{db: db, doc: d, when: snapshot(d)}
		key := db.DistroVersion + "/" + db.RepoName
		if cur, ok := best[key]; !ok || newer(p, cur) {
			best[key] = p
		}
		return nil
	}
	if src.Mirror != "" {
		if err := src.Walk(ctx, Name, nil, take); err != nil {
			return err
		}
	} else if err := c.fetchHTTP(ctx, src, take); err != nil {
		return err
	}
	keys := make([]string, 0, len(best))
	for k := range best {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// One record per id across releases and repositories.
	byID := map[string]*feed.Record{}
	var order []string
	now := time.Now().UTC()
	for _, k := range keys {
		p := best[k]
		for _, r := range p.db.Records() {
			cur := byID[r.ID]
			if cur == nil {
				r.DocURL, r.DocDigest, r.FetchedAt = p.doc.Path, p.doc.Digest, now
				byID[r.ID] = &r
				order = append(order, r.ID)
				continue
			}
			cur.Affected = append(cur.Affected, r.Affected...)
		}
	}
	for _, id := range order {
		if err := feed.Send(ctx, out, *byID[id]); err != nil {
			return err
		}
	}
	return nil
}

// newer: a later snapshot wins; within the same second (copies made
// together) the more complete document wins, then the later path.
func newer(a, b parsed) bool {
	ta, tb := a.when.Truncate(time.Second), b.when.Truncate(time.Second)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	if len(a.db.Packages) != len(b.db.Packages) {
		return len(a.db.Packages) > len(b.db.Packages)
	}
	return a.doc.Path > b.doc.Path
}

func snapshot(d feed.Doc) time.Time {
	segs := strings.Split(filepath.ToSlash(d.Path), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		if t := feed.SnapshotTime(segs[i], time.Time{}); !t.IsZero() {
			return t
		}
	}
	return d.ModTime
}

var reRelease = regexp.MustCompile(`href="((?:v\d+\.\d+|edge)/?)"`)

// fetchHTTP lists the releases from the secdb index page and reads
// main and community of each, in JSON or, failing that, YAML.
func (c *Connector) fetchHTTP(ctx context.Context, src feed.Source, fn func(feed.Doc) error) error {
	base := URL
	if src.BaseURL != "" {
		base = strings.TrimRight(src.BaseURL, "/") + "/"
	}
	client := src.HTTP()
	idx, err := client.Get(ctx, base, nil, nil)
	if err != nil {
		return fmt.Errorf("alpine: release index %s: %w", base, err)
	}
	seen := map[string]bool{}
	var releases []string
	for _, m := range reRelease.FindAllSubmatch(idx.Body, -1) {
		rel := strings.TrimSuffix(string(m[1]), "/")
		if !seen[rel] {
			seen[rel] = true
			releases = append(releases, rel)
		}
	}
	if len(releases) == 0 {
		return fmt.Errorf("alpine: no release directories (v3.x/) listed at %s", base)
	}
	for _, rel := range releases {
		for _, repo := range []string{"main", "community"} {
			if err := c.fetchOne(ctx, src, client, base+rel+"/"+repo, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Connector) fetchOne(ctx context.Context, src feed.Source, client *feed.Client, stem string, fn func(feed.Doc) error) error {
	var lastErr error
	for _, ext := range []string{".json", ".yaml"} {
		u := stem + ext
		// No validators: records merge every release, so a document
		// skipped as unchanged would drop its releases from the records.
		resp, err := client.Get(ctx, u, nil, nil)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var he *feed.HTTPError
			if errors.As(err, &he) && he.Status == http.StatusNotFound {
				lastErr = err
				continue
			}
			src.Report(ctx, Name, u, err)
			return nil
		}
		return src.ReadBytes(ctx, Name, u, resp.Body, fn)
	}
	// Neither form exists: old releases have no community repository.
	slog.DebugContext(ctx, "alpine: secdb document not published", "url", stem, "err", lastErr)
	return nil
}
