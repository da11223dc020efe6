// Package property lists the facts of a Package that neither CycloneDX nor
// SPDX has a field for, as "stella:…" name/value pairs, and reads them
// back. CycloneDX writes them as component properties, SPDX as package
// annotations, so that a Stella SBOM decodes to the packages it encoded.
package property

import (
	"sort"
	"strconv"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// Property names. They are part of Stella's output contract: the matcher
// and other tools read them back.
const (
	Ecosystem     = "stella:ecosystem"
	LayerDiffID   = "stella:layer:diffID"
	LayerIndex    = "stella:layer:index"
	Path          = "stella:path" // one per path
	SourceName    = "stella:sourceName"
	SourceVersion = "stella:sourceVersion"
	Arch          = "stella:arch"
	OwnedBy       = "stella:ownedBy" // ref of the OS package that owns the files
	Scope         = "stella:scope"
	CPE           = "stella:cpe"       // CPEs after the first
	MetaPrefix    = "stella:metadata:" // + Metadata key

	// Document-level names (CycloneDX metadata properties / SPDX comments).
	DocSource      = "stella:source"
	DocTarget      = "stella:target"
	ImageName      = "stella:image:name"
	ImageDigest    = "stella:image:digest"
	ImageConfigID  = "stella:image:configID"
	ImagePlatform  = "stella:image:platform"
	ImageTag       = "stella:image:tag"
	ImageLayer     = "stella:image:layer" // "<index> <diffID> [<digest>]", one per layer
	DistroCodename = "stella:distro:codename"
	DistroName     = "stella:distro:prettyName"
)

// Prop is one name/value pair.
type Prop struct{ Name, Value string }

// Options says which facts a codec writes elsewhere and leaves out here.
type Options struct {
	// SkipCPEs is how many leading CPEs the codec writes in fields of its
	// own (CycloneDX: the first; SPDX: all, as external references); the
	// rest become properties. A negative value skips them all.
	SkipCPEs int
	OwnedBy  bool // write OwnedBy (SPDX expresses it as a relationship instead)
}

// FromPackage lists p's facts in a fixed order.
func FromPackage(p *sbom.Package, o Options) []Prop {
	var out []Prop
	add := func(n, v string) {
		if v != "" {
			out = append(out, Prop{n, v})
		}
	}
	add(Ecosystem, p.Ecosystem)
	add(LayerDiffID, p.Layer)
	if p.LayerIndex > 0 {
		add(LayerIndex, strconv.Itoa(p.LayerIndex))
	}
	for _, path := range p.Paths {
		add(Path, path)
	}
	add(SourceName, p.SourceName)
	add(SourceVersion, p.SourceVersion)
	add(Arch, p.Arch)
	if o.OwnedBy {
		add(OwnedBy, p.OwnedBy)
	}
	add(Scope, p.Scope)
	cpes := p.CPEs
	if o.SkipCPEs < 0 || o.SkipCPEs > len(cpes) {
		cpes = nil
	} else {
		cpes = cpes[o.SkipCPEs:]
	}
	for _, c := range cpes {
		add(CPE, c)
	}
	keys := make([]string, 0, len(p.Metadata))
	for k := range p.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(MetaPrefix+k, p.Metadata[k])
	}
	return out
}

// Apply sets the fact that one property names on p. It reports false for a
// name it does not know. Licence properties are collected by the caller.
func Apply(p *sbom.Package, name, value string) bool {
	switch name {
	case Ecosystem:
		p.Ecosystem = value
	case LayerDiffID:
		p.Layer = value
	case LayerIndex:
		if n, err := strconv.Atoi(value); err == nil && n > 0 {
			p.LayerIndex = n
		}
	case Path:
		p.Paths = append(p.Paths, value)
	case SourceName:
		p.SourceName = value
	case SourceVersion:
		p.SourceVersion = value
	case Arch:
		p.Arch = value
	case OwnedBy:
		p.OwnedBy = value
	case Scope:
		p.Scope = value
	case CPE:
		p.CPEs = append(p.CPEs, value)
	default:
		k, ok := strings.CutPrefix(name, MetaPrefix)
		if !ok || k == "" {
			return false
		}
		if p.Metadata == nil {
			p.Metadata = map[string]string{}
		}
		p.Metadata[k] = value
	}
	return true
}

// Refs returns a reference for each package that is unique in the
// document: its ID when it has one that no earlier package took, otherwise
// one derived from its purl or key. byID maps each package ID to the ref of
// the first package that carries it, for resolving relationships.
// reserved names refs the codec uses for other elements.
func Refs(pkgs []sbom.Package, reserved ...string) (refs []string, byID map[string]string) {
	refs = make([]string, len(pkgs))
	byID = map[string]string{}
	taken := map[string]bool{}
	for _, r := range reserved {
		taken[r] = true
	}
	for i := range pkgs {
		p := &pkgs[i]
		base := p.ID
		if base == "" {
			base = p.PURL
		}
		if base == "" {
			base = p.Ecosystem + "/" + p.Name + "@" + p.Version
		}
		ref := base
		for n := 2; taken[ref]; n++ {
			ref = base + "#" + strconv.Itoa(n)
		}
		taken[ref] = true
		refs[i] = ref
		if p.ID != "" {
			if _, ok := byID[p.ID]; !ok {
				byID[p.ID] = ref
			}
		}
	}
	return refs, byID
}

// Owners returns, for each package ref, the ref of the OS package that owns
// it, from both Package.OwnedBy and "owns" relationships.
func Owners(d *sbom.Document, refs []string, byID map[string]string) map[string]string {
	owner := map[string]string{}
	for i := range d.Packages {
		if o, ok := byID[d.Packages[i].OwnedBy]; ok && d.Packages[i].OwnedBy != "" {
			owner[refs[i]] = o
		}
	}
	for _, r := range d.Relationships {
		if r.Type != sbom.RelOwns {
			continue
		}
		from, ok1 := byID[r.From]
		to, ok2 := byID[r.To]
		if ok1 && ok2 {
			if _, seen := owner[to]; !seen {
				owner[to] = from
			}
		}
	}
	return owner
}

// DependsOn returns the depends-on edges between known packages, by ref,
// each list sorted and without duplicates.
func DependsOn(d *sbom.Document, byID map[string]string) map[string][]string {
	deps := map[string][]string{}
	seen := map[[2]string]bool{}
	for _, r := range d.Relationships {
		if r.Type != sbom.RelDependsOn {
			continue
		}
		from, ok1 := byID[r.From]
		to, ok2 := byID[r.To]
		if !ok1 || !ok2 || seen[[2]string{from, to}] {
			continue
		}
		seen[[2]string{from, to}] = true
		deps[from] = append(deps[from], to)
	}
	for k := range deps {
		sort.Strings(deps[k])
	}
	return deps
}

// Sorted returns a sorted copy of d's packages (d is left as it is) and the
// copy of the document that holds them.
func Sorted(d *sbom.Document) *sbom.Document {
	c := *d
	c.Packages = append([]sbom.Package(nil), d.Packages...)
	c.Relationships = append([]sbom.Relationship(nil), d.Relationships...)
	c.Sort()
	return &c
}

// Layer formats one image layer as an ImageLayer value.
func Layer(l sbom.Layer) string {
	v := strconv.Itoa(l.Index) + " " + l.DiffID
	if l.Digest != "" {
		v += " " + l.Digest
	}
	return v
}

// ParseLayer reads an ImageLayer value back.
func ParseLayer(v string) (sbom.Layer, bool) {
	f := strings.Fields(v)
	if len(f) < 2 {
		return sbom.Layer{}, false
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return sbom.Layer{}, false
	}
	l := sbom.Layer{Index: n, DiffID: f[1]}
	if len(f) > 2 {
		l.Digest = f[2]
	}
	return l, true
}
