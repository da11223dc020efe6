package match

import (
	"context"
	"sort"
	"sync"

	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/vulndb"
)

// ReleaseCoverage is implemented by readers that can tell whether a distro
// release has any advisory data (vulndb.DB does). Without it, every
// recognised distro release counts as covered.
type ReleaseCoverage interface {
	HasRelease(ctx context.Context, distro, release string) (bool, error)
}

// cachedReader memoises the reader's answers per key for one Engine: an
// image holds many binary packages of one source package, and many images
// share packages. The DB's statements are prepared once by vulndb.Open;
// this removes the repeated queries.
type cachedReader struct {
	db vulndb.Reader

	mu       sync.Mutex
	affected map[string][]vulndb.AffectedRecord
	distro   map[string][]vulndb.AffectedRecord
	cpe      map[string][]vulndb.CPERecord
	adv      map[string]*vulndb.Advisory
	release  map[string]bool
	hits     map[string][]hit
}

func newCachedReader(db vulndb.Reader) *cachedReader {
	if c, ok := db.(*cachedReader); ok {
		return c
	}
	return &cachedReader{
		db:       db,
		affected: map[string][]vulndb.AffectedRecord{},
		distro:   map[string][]vulndb.AffectedRecord{},
		cpe:      map[string][]vulndb.CPERecord{},
		adv:      map[string]*vulndb.Advisory{},
		release:  map[string]bool{},
		hits:     map[string][]hit{},
	}
}

var _ vulndb.Reader = (*cachedReader)(nil)

func (c *cachedReader) Affected(ctx context.Context, ecosystem, name string) ([]vulndb.AffectedRecord, error) {
	k := ecosystem + "\x00" + vulndb.NormalizeName(ecosystem, name)
	c.mu.Lock()
	r, ok := c.affected[k]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := c.db.Affected(ctx, ecosystem, name)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.affected[k] = r
	c.mu.Unlock()
	return r, nil
}

func (c *cachedReader) Distro(ctx context.Context, distro, release, srcPkg string) ([]vulndb.AffectedRecord, error) {
	k := distro + "\x00" + release + "\x00" + srcPkg
	c.mu.Lock()
	r, ok := c.distro[k]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := c.db.Distro(ctx, distro, release, srcPkg)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.distro[k] = r
	c.mu.Unlock()
	return r, nil
}

func (c *cachedReader) CPE(ctx context.Context, vendor, product string) ([]vulndb.CPERecord, error) {
	k := vendor + "\x00" + product
	c.mu.Lock()
	r, ok := c.cpe[k]
	c.mu.Unlock()
	if ok {
		return r, nil
	}
	r, err := c.db.CPE(ctx, vendor, product)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cpe[k] = r
	c.mu.Unlock()
	return r, nil
}

func (c *cachedReader) Advisory(ctx context.Context, id string) (*vulndb.Advisory, error) {
	c.mu.Lock()
	a, ok := c.adv[id]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err := c.db.Advisory(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.adv[id] = a
	c.mu.Unlock()
	return a, nil
}

// HasRelease answers through the underlying reader when it can, and says
// true otherwise.
func (c *cachedReader) HasRelease(ctx context.Context, distro, release string) (bool, error) {
	rc, ok := c.db.(ReleaseCoverage)
	if !ok {
		return true, nil
	}
	k := distro + "\x00" + release
	c.mu.Lock()
	v, ok := c.release[k]
	c.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := rc.HasRelease(ctx, distro, release)
	if err != nil {
		return false, err
	}
	c.mu.Lock()
	c.release[k] = v
	c.mu.Unlock()
	return v, nil
}

// batcher is implemented by vulndb.DB: many lookups in one query.
type batcher interface {
	AffectedBatch(ctx context.Context, ecosystem string, names []string) (map[string][]vulndb.AffectedRecord, error)
	DistroBatch(ctx context.Context, distro, release string, srcPkgs []string) (map[string][]vulndb.AffectedRecord, error)
}

// prefetch fills the cache for every lookup the matchers will make for
// pkgs, a few hundred names per query, so that matching costs one query
// per batch rather than one per distinct package.
func (c *cachedReader) prefetch(ctx context.Context, pkgs []sbom.Package) error {
	b, ok := c.db.(batcher)
	if !ok {
		return nil
	}
	type rel struct{ distro, release string }
	distroNames := map[rel]map[string]bool{}
	ecoNames := map[string]map[string]bool{}
	c.mu.Lock()
	for i := range pkgs {
		p := &pkgs[i]
		if sbom.IsOS(p.Ecosystem) {
			d, r, ok := DistroRelease(p.Distro)
			if !ok {
				continue
			}
			src := p.SourceName
			if src == "" {
				src = p.Name
			}
			if _, ok := c.distro[d+"\x00"+r+"\x00"+src]; ok {
				continue
			}
			k := rel{d, r}
			if distroNames[k] == nil {
				distroNames[k] = map[string]bool{}
			}
			distroNames[k][src] = true
			continue
		}
		if p.Ecosystem == "" {
			continue
		}
		if _, ok := c.affected[p.Ecosystem+"\x00"+vulndb.NormalizeName(p.Ecosystem, p.Name)]; ok {
			continue
		}
		if ecoNames[p.Ecosystem] == nil {
			ecoNames[p.Ecosystem] = map[string]bool{}
		}
		ecoNames[p.Ecosystem][p.Name] = true
	}
	c.mu.Unlock()
	for k, set := range distroNames {
		names := keys(set)
		got, err := b.DistroBatch(ctx, k.distro, k.release, names)
		if err != nil {
			return err
		}
		c.mu.Lock()
		for _, n := range names {
			c.distro[k.distro+"\x00"+k.release+"\x00"+n] = got[n]
		}
		c.mu.Unlock()
	}
	for eco, set := range ecoNames {
		names := keys(set)
		got, err := b.AffectedBatch(ctx, eco, names)
		if err != nil {
			return err
		}
		c.mu.Lock()
		for _, n := range names {
			nk := vulndb.NormalizeName(eco, n)
			c.affected[eco+"\x00"+nk] = got[nk]
		}
		c.mu.Unlock()
	}
	return nil
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// cachedHits memoises the hits of one lookup key and installed version:
// the binaries of one source package, and the same package in many
// images, are judged once.
func cachedHits(db vulndb.Reader, key string, compute func() ([]hit, error)) ([]hit, error) {
	c, ok := db.(*cachedReader)
	if !ok {
		return compute()
	}
	c.mu.Lock()
	h, ok := c.hits[key]
	c.mu.Unlock()
	if ok {
		return h, nil
	}
	h, err := compute()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.hits[key] = h
	c.mu.Unlock()
	return h, nil
}
