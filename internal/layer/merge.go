package layer

import (
	"path"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

// Merged is the image's final filesystem as the analyzers saw it: the
// files that survive every later layer's writes and whiteouts, with each
// package attributed to the layer that introduced it.
type Merged struct {
	Packages  []sbom.Package
	Distros   map[string]*sbom.Distro // release file path -> distro
	Ownership []analyze.Ownership
	Symlinks  map[string]string // final symlinks: path -> target
}

// Merge applies OCI layer semantics to per-layer results (ordered bottom
// to top): a path written or deleted by a later layer hides the earlier
// one, an opaque directory hides the lower layers' contents.
//
// A package in a surviving file is attributed to the first layer of the
// unbroken run of rewrites of that file that carry the same package and
// version: a dpkg status file rewritten by every apt-get layer does not
// move its old packages to the newest layer.
func Merge(layers []*Result) *Merged {
	m := &Merged{Distros: map[string]*sbom.Distro{}, Symlinks: map[string]string{}}
	for li, l := range layers {
		paths := make([]string, 0, len(l.Files))
		for p := range l.Files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if hidden(layers, li, p) {
				continue
			}
			fr := l.Files[p]
			if fr.Distro != nil {
				m.Distros[p] = fr.Distro
			}
			m.Ownership = append(m.Ownership, fr.Ownership...)
			for _, pkg := range fr.Packages {
				first := firstLayer(layers, li, p, pkg.Key())
				pkg.Layer = layers[first].DiffID
				pkg.LayerIndex = layers[first].Index
				m.Packages = append(m.Packages, pkg)
			}
		}
	}
	for li, l := range layers {
		for p, t := range l.Symlinks {
			if !hidden(layers, li, p) {
				m.Symlinks[p] = t
			}
		}
	}
	return m
}

// hidden reports whether a later layer than li writes p, deletes it or
// one of its parents, or makes a parent opaque.
func hidden(layers []*Result, li int, p string) bool {
	for _, l := range layers[li+1:] {
		if _, ok := l.Written[p]; ok {
			return true
		}
		if _, ok := l.Whiteouts[p]; ok {
			return true
		}
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := l.Whiteouts[d]; ok {
				return true
			}
			if _, ok := l.Opaques[d]; ok {
				return true
			}
			if _, ok := l.Written[d]; ok { // a parent replaced by a file or link
				return true
			}
		}
		if _, ok := l.Opaques[""]; ok {
			return true
		}
	}
	return false
}

// firstLayer walks down from layer li while earlier versions of the file p
// hold the same package key, and returns the lowest such layer.
func firstLayer(layers []*Result, li int, p, key string) int {
	first := li
	for j := li - 1; j >= 0; j-- {
		l := layers[j+1]
		if _, ok := l.Whiteouts[p]; ok {
			break
		}
		fr, ok := layers[j].Files[p]
		if !ok {
			if _, wrote := layers[j].Written[p]; wrote {
				break // an earlier version the analyzers found nothing in
			}
			continue // untouched by this layer
		}
		if !holds(fr, key) {
			break
		}
		first = j
	}
	return first
}

func holds(fr *FileResult, key string) bool {
	for i := range fr.Packages {
		if fr.Packages[i].Key() == key {
			return true
		}
	}
	return false
}

// Resolve rewrites p through the final symlinks of its parent directories
// (lib -> usr/lib on merged-/usr systems), so that paths recorded by a
// package database and paths seen in the layers compare equal.
func (m *Merged) Resolve(p string) string {
	for hops := 0; hops < 40; hops++ {
		changed := false
		for i := 0; i <= len(p); i++ {
			if i < len(p) && p[i] != '/' {
				continue
			}
			prefix := p[:i]
			t, ok := m.Symlinks[prefix]
			if !ok || i == len(p) {
				continue
			}
			var base string
			if strings.HasPrefix(t, "/") {
				base = t
			} else {
				base = path.Join(path.Dir("/"+prefix), t)
			}
			np, err := Clean(path.Join(base, p[i:]))
			if err != nil {
				return p
			}
			p, changed = np, true
			break
		}
		if !changed {
			return p
		}
	}
	return p
}
