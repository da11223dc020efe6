// Package scan ties the pipeline together: source -> layers -> analyzers
// -> SBOM (and, with a DB, -> matcher -> findings). It is the one entry
// point the CLI, the server, the gRPC core and the workers call.
package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stella-scan/stella/internal/analyze"
	// Every analyzer registers itself; the pipeline runs them all by default.
	_ "github.com/stella-scan/stella/internal/analyze/all"
	"github.com/stella-scan/stella/internal/analyze/embedded"
	"github.com/stella-scan/stella/internal/cache"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/layer"
	"github.com/stella-scan/stella/internal/sbom"
)

// Options control one SBOM run.
type Options struct {
	Image  image.Options
	Limits layer.Limits
	// Analyzers to run; nil means every registered analyzer.
	Analyzers []analyze.Analyzer
	// Workers bounds how many layers are walked at once; 0 means GOMAXPROCS.
	Workers int
	// Progress, when set, is told about each finished layer.
	Progress func(done, total int, l *layer.Result)
	// MaxSBOMSize bounds an input SBOM file.
	MaxSBOMSize int64
	// Cache holds per-layer and whole-image results; nil disables caching.
	Cache cache.Store
	// SBOMSource is auto (default), attached, embedded or unpack.
	SBOMSource string
	// AttestationKey (PEM, ECDSA P-256), when set, makes a cosign
	// attestation count only when its signature verifies.
	AttestationKey []byte
}

// Stats says where the time went.
type Stats struct {
	Layers   []LayerStats  `json:"layers,omitempty"`
	Open     time.Duration `json:"open"`
	Analyze  time.Duration `json:"analyze"`
	Assemble time.Duration `json:"assemble"`
	Warnings []string      `json:"warnings,omitempty"`
	// ImageCache is true when the whole result came from the image cache.
	ImageCache bool `json:"imageCache"`
}

// LayerStats is the cost of one layer.
type LayerStats struct {
	Index  int    `json:"index"`
	DiffID string `json:"diffID"`
	// Cache is "hit" (no layer byte read), "partial" (some analyzers
	// re-ran) or "miss".
	Cache      string        `json:"cache"`
	Bytes      int64         `json:"bytes"`      // uncompressed bytes walked
	Downloaded int64         `json:"downloaded"` // blob bytes read
	Duration   time.Duration `json:"duration"`
	Files      int           `json:"files"`
}

// SBOM opens target and lists every package in it.
func SBOM(ctx context.Context, target string, opts Options) (*sbom.Document, *Stats, error) {
	st := &Stats{}
	t0 := time.Now()
	t, err := image.Parse(target)
	if err != nil {
		return nil, nil, err
	}
	o, err := image.Open(ctx, t, opts.Image)
	if err != nil {
		return nil, nil, err
	}
	defer o.Close()
	st.Open = time.Since(t0)
	switch t.Kind {
	case image.KindSBOM:
		doc, err := decodeSBOMFile(t.Ref, opts.MaxSBOMSize)
		if err != nil {
			return nil, nil, &image.InputError{Input: "sbom:" + t.Ref, Err: err}
		}
		return doc, st, nil
	case image.KindDir:
		return sbomDir(ctx, t.Ref, opts, st)
	}
	return sbomImage(ctx, o, opts, st)
}

func analyzers(opts Options) []analyze.Analyzer {
	if opts.Analyzers != nil {
		return opts.Analyzers
	}
	return analyze.All()
}

func sbomImage(ctx context.Context, o *image.Opened, opts Options, st *Stats) (*sbom.Document, *Stats, error) {
	t0 := time.Now()
	layers, err := o.Image.Layers()
	if err != nil {
		return nil, nil, &image.InputError{Input: o.Name, Err: err}
	}
	cf, err := o.Image.ConfigFile()
	if err != nil {
		return nil, nil, &image.InputError{Input: o.Name, Err: err}
	}
	info := &sbom.Image{Name: o.Name, Digest: o.Digest, Platform: o.Platform}
	if id, err := o.Image.ConfigName(); err == nil {
		info.ConfigID = id.String()
	}
	as := analyzers(opts)
	source := opts.SBOMSource
	if source == "" {
		source = SourceAuto
	}
	if source == SourceEmbedded {
		as = []analyze.Analyzer{embedded.Analyzer{}}
	}
	if doc := imageFromCache(ctx, opts.Cache, o.Digest, as); doc != nil && source != SourceAttached {
		st.ImageCache = true
		for _, l := range doc.Image.Layers {
			st.Layers = append(st.Layers, LayerStats{Index: l.Index, DiffID: l.DiffID, Cache: "hit"})
		}
		return doc, st, nil
	}
	history := nonEmptyHistory(cf)
	for i, l := range layers {
		li := sbom.Layer{Index: i + 1, DiffID: cf.RootFS.DiffIDs[i].String()}
		if o.Compressed {
			if d, err := l.Digest(); err == nil {
				li.Digest = d.String()
			}
			if s, err := l.Size(); err == nil {
				li.Size = s
			}
		}
		if mt, err := l.MediaType(); err == nil {
			li.MediaType = string(mt)
		}
		if i < len(history) {
			li.CreatedBy = history[i]
		}
		info.Layers = append(info.Layers, li)
	}
	if source == SourceAuto || source == SourceAttached {
		doc, err := attachedSBOM(ctx, o, opts)
		if err != nil {
			return nil, nil, &image.InputError{Input: o.Name, Err: err}
		}
		if doc != nil {
			fillAttached(doc, o, info)
			st.Analyze = time.Since(t0)
			return doc, st, nil
		}
		if source == SourceAttached {
			return nil, nil, &image.InputError{Input: o.Name, Err: errNoAttached}
		}
	}

	results := make([]*layer.Result, len(layers))
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		done     int
		sem      = make(chan struct{}, workers)
	)
	stats := make([]LayerStats, len(layers))
	for i := range layers {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				return
			}
			r, ls, err := cachedWalk(ctx, o, layers[i], i+1, info.Layers[i], as, opts)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
					cancel()
				}
				return
			}
			results[i] = r
			stats[i] = ls
			done++
			if opts.Progress != nil {
				opts.Progress(done, len(layers), r)
			}
		}(i)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, nil, &image.InputError{Input: o.Name, Err: firstErr}
	}
	st.Analyze = time.Since(t0)
	st.Layers = stats
	for _, r := range results {
		st.Warnings = append(st.Warnings, r.Warnings...)
	}
	t1 := time.Now()
	doc := assemble(layer.Merge(results))
	doc.Target = o.Name
	doc.Image = info
	doc.Source = SourceUnpack
	if source == SourceEmbedded {
		doc.Source = SourceEmbedded
		if len(doc.Packages) == 0 {
			return nil, nil, &image.InputError{Input: o.Name, Err: errors.New("no SBOM file found inside the image at the conventional locations; use --sbom-source auto or unpack")}
		}
	}
	st.Assemble = time.Since(t1)
	imageToCache(ctx, opts.Cache, o.Digest, as, doc)
	return doc, st, nil
}

// cachedWalk answers a layer from the cache when every analyzer's entry is
// there (the blob is never requested), and otherwise walks the layer with
// the analyzers that missed.
func cachedWalk(ctx context.Context, o *image.Opened, l v1.Layer, index int, li sbom.Layer, as []analyze.Analyzer, opts Options) (*layer.Result, LayerStats, error) {
	t0 := time.Now()
	ls := LayerStats{Index: index, DiffID: li.DiffID, Cache: "miss"}
	cached, missing := fromCache(ctx, opts.Cache, li.DiffID, as)
	if cached != nil && len(missing) == 0 {
		cached.Index = index
		cached.BuildFiles()
		ls.Cache, ls.Bytes, ls.Files, ls.Duration = "hit", cached.Bytes, len(cached.Files), time.Since(t0)
		return cached, ls, nil
	}
	if cached != nil {
		ls.Cache = "partial"
	}
	r, downloaded, err := walkLayer(ctx, o, l, index, li, missing, opts.Limits)
	if err != nil {
		return nil, ls, err
	}
	toCache(ctx, opts.Cache, r, missing)
	r = combine(cached, r)
	ls.Bytes, ls.Downloaded, ls.Files, ls.Duration = r.Bytes, downloaded, len(r.Files), time.Since(t0)
	return r, ls, nil
}

// walkLayer streams one layer: compressed and verified against its digest
// where the source has blobs, through the library's uncompressed view for
// docker archives.
func walkLayer(ctx context.Context, o *image.Opened, l v1.Layer, index int, li sbom.Layer, as []analyze.Analyzer, lim layer.Limits) (*layer.Result, int64, error) {
	var (
		rc  io.ReadCloser
		err error
		b   layer.Blob
	)
	name := li.Digest
	if o.Compressed {
		rc, err = l.Compressed()
		b.Digest = li.Digest
	} else {
		name = li.DiffID
		rc, err = l.Uncompressed()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("layer %d (%s): %w", index, name, err)
	}
	defer rc.Close()
	cr := &countReader{r: rc}
	b.R = cr
	r, err := layer.Walk(ctx, b, index, li.DiffID, as, lim)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, cr.n, err
		}
		return nil, cr.n, fmt.Errorf("layer %d (%s): %w", index, name, err)
	}
	return r, cr.n, nil
}

func nonEmptyHistory(cf *v1.ConfigFile) []string {
	var out []string
	for _, h := range cf.History {
		if !h.EmptyLayer {
			out = append(out, h.CreatedBy)
		}
	}
	return out
}

// assemble turns the merged layers into a document: distro, purls, IDs,
// duplicates folded, ownership recorded.
func assemble(m *layer.Merged) *sbom.Document {
	doc := &sbom.Document{Distro: pickDistro(m.Distros)}
	pkgs := dedupe(m.Packages)
	for i := range pkgs {
		p := &pkgs[i]
		if sbom.IsOS(p.Ecosystem) && doc.Distro != nil {
			d := *doc.Distro
			p.Distro = &d
		}
		p.PURL = sbom.PURL(p)
		p.ID = p.PURL
		if len(p.Paths) > 0 {
			p.ID += "#" + p.Paths[0]
		}
	}
	doc.Packages = pkgs
	doc.Relationships = own(m, doc.Packages)
	doc.Packages, doc.Relationships = dropOwnedManifests(doc.Packages, doc.Relationships)
	doc.Sort()
	return doc
}

// manifestNames are files that describe how software is built rather than
// what is installed.
var manifestNames = map[string]bool{
	"package-lock.json": true, "yarn.lock": true, "pnpm-lock.yaml": true, "go.mod": true,
	"poetry.lock": true, "Pipfile.lock": true, "Gemfile.lock": true, "gems.locked": true,
	"Cargo.lock": true, "composer.lock": true, "packages.lock.json": true,
}

// dropOwnedManifests removes packages read from a lock file or go.mod that
// an OS package ships (a language's source tree in golang-1.19-src, say):
// they describe the tooling the distro built with, not software installed
// in the image. Installed metadata an OS package owns (a python3-* deb's
// dist-info, a Go binary) stays, marked as owned.
func dropOwnedManifests(pkgs []sbom.Package, rels []sbom.Relationship) ([]sbom.Package, []sbom.Relationship) {
	dropped := map[string]bool{}
	out := pkgs[:0]
	for _, p := range pkgs {
		if p.OwnedBy != "" && len(p.Paths) > 0 {
			base := path.Base(p.Paths[0])
			if manifestNames[base] || (strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt")) {
				dropped[p.ID] = true
				continue
			}
		}
		out = append(out, p)
	}
	if len(dropped) == 0 {
		return out, rels
	}
	keep := rels[:0]
	for _, r := range rels {
		if !dropped[r.To] && !dropped[r.From] {
			keep = append(keep, r)
		}
	}
	return out, keep
}

// dedupe folds packages that two records of the same installation report:
// an npm lock file next to the node_modules it describes, a hidden
// lockfile. Installed evidence wins over a lock file in the same tree.
func dedupe(in []sbom.Package) []sbom.Package {
	installed := map[string]bool{}
	for i := range in {
		if in[i].Metadata["source"] != "lockfile" {
			installed[in[i].Key()] = true
		}
	}
	seen := map[string]bool{}
	out := in[:0:0]
	for _, p := range in {
		if p.Metadata["source"] == "lockfile" && installed[p.Key()] && p.Ecosystem == sbom.NPM {
			continue
		}
		k := p.Key() + "\x00" + strings.Join(p.Paths, ",")
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}

// own marks language packages whose files an OS package lists, and
// returns the "owns" relationships.
func own(m *layer.Merged, pkgs []sbom.Package) []sbom.Relationship {
	owner := map[string]string{} // resolved path -> OS package ID
	byName := map[string]string{}
	for i := range pkgs {
		p := &pkgs[i]
		if !sbom.IsOS(p.Ecosystem) {
			continue
		}
		byName[p.Ecosystem+"\x00"+p.Name] = p.ID
		for _, f := range p.Files {
			owner[m.Resolve(f)] = p.ID
		}
	}
	for _, o := range m.Ownership {
		id, ok := byName[o.Ecosystem+"\x00"+o.Name]
		if !ok {
			continue
		}
		for _, f := range o.Files {
			owner[m.Resolve(f)] = id
		}
	}
	if len(owner) == 0 {
		return nil
	}
	var rels []sbom.Relationship
	for i := range pkgs {
		p := &pkgs[i]
		if sbom.IsOS(p.Ecosystem) {
			continue
		}
		for _, path := range p.Paths {
			if id, ok := owner[m.Resolve(path)]; ok {
				p.OwnedBy = id
				rels = append(rels, sbom.Relationship{From: id, To: p.ID, Type: sbom.RelOwns})
				break
			}
		}
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].To < rels[j].To })
	return rels
}

// pickDistro prefers etc/os-release, then usr/lib/os-release, then the
// distro-specific release files.
func pickDistro(byPath map[string]*sbom.Distro) *sbom.Distro {
	for _, p := range []string{"etc/os-release", "usr/lib/os-release", "etc/alpine-release", "etc/redhat-release", "etc/system-release", "etc/debian_version", "etc/lsb-release"} {
		if d := byPath[p]; d != nil {
			return d
		}
	}
	for _, d := range byPath {
		slog.Debug("distro from an unexpected release file", "distro", d.ID)
		return d
	}
	return nil
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
