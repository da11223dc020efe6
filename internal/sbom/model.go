// Package sbom holds Stella's in-memory software bill of materials: the
// packages found in an image, how they relate, and where they came from.
// Codecs for CycloneDX, SPDX, native JSON and the table live in
// sub-packages.
package sbom

import (
	"sort"
	"strings"
)

// Ecosystems, spelled as purl types.
const (
	Deb      = "deb"
	APK      = "apk"
	RPM      = "rpm"
	NPM      = "npm"
	Golang   = "golang"
	PyPI     = "pypi"
	Maven    = "maven"
	Gem      = "gem"
	Cargo    = "cargo"
	Composer = "composer"
	NuGet    = "nuget"
)

// IsOS reports whether eco is an operating-system package ecosystem.
func IsOS(eco string) bool { return eco == Deb || eco == APK || eco == RPM }

// Distro identifies the operating system of an image.
type Distro struct {
	ID       string `json:"id"`                 // os-release ID: debian, alpine, rhel, sles, amzn, ubuntu…
	Version  string `json:"version,omitempty"`  // VERSION_ID: 12, 3.14.0, 8.4
	Codename string `json:"codename,omitempty"` // VERSION_CODENAME: bookworm
	Name     string `json:"name,omitempty"`     // PRETTY_NAME
}

// Package is one installed package.
type Package struct {
	// ID is a stable reference inside one document (bom-ref / SPDXID seed).
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Ecosystem string   `json:"ecosystem"`
	PURL      string   `json:"purl,omitempty"`
	CPEs      []string `json:"cpes,omitempty"`
	Licenses  []string `json:"licenses,omitempty"` // SPDX ids where recognised, else the text

	// OS packages: the source package that distro advisories are keyed by.
	SourceName    string  `json:"sourceName,omitempty"`
	SourceVersion string  `json:"sourceVersion,omitempty"`
	Arch          string  `json:"arch,omitempty"`
	Distro        *Distro `json:"distro,omitempty"`

	// Language packages: prod, dev, optional, workspace (lock files that say so).
	Scope string `json:"scope,omitempty"`

	// Where it was found: the layer that introduced it and the file(s) that
	// record it, relative to the image root without a leading slash.
	Layer      string   `json:"layer,omitempty"` // diffID
	LayerIndex int      `json:"layerIndex,omitempty"`
	Paths      []string `json:"paths,omitempty"`

	// OwnedBy is the ID of the OS package whose file list contains this
	// package's files (a Debian python3-* package's dist-info, say).
	OwnedBy string `json:"ownedBy,omitempty"`

	// Files an OS package owns (from dpkg .list, rpm file lists, apk R:
	// entries). Used to compute ownership; not written to SBOMs.
	Files []string `json:"-"`

	// Extra facts a codec may write as properties (maintainer, go toolchain…).
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Metadata keys that codecs understand.
const (
	// MetaRoot set to "true" marks a project's own module rather than a
	// dependency: a Go binary's main module, a Cargo workspace member. The
	// CycloneDX codec writes such a package as an application.
	MetaRoot = "root"
)

// Key identifies a package by ecosystem, name and version.
func (p *Package) Key() string { return p.Ecosystem + "\x00" + p.Name + "\x00" + p.Version }

// Relationship types.
const (
	RelContains  = "contains"   // image/document contains package
	RelDependsOn = "depends-on" // From depends on To
	RelOwns      = "owns"       // OS package From owns the files of To
)

// Relationship links two packages by ID.
type Relationship struct {
	From string `json:"from"`
	To   string `json:"to"`
	Type string `json:"type"`
}

// Layer describes one image layer.
type Layer struct {
	Index     int    `json:"index"` // 1-based
	DiffID    string `json:"diffID"`
	Digest    string `json:"digest,omitempty"`
	Size      int64  `json:"size,omitempty"`
	MediaType string `json:"mediaType,omitempty"`
	CreatedBy string `json:"createdBy,omitempty"`
}

// Image describes the scanned image when the target was one.
type Image struct {
	Name     string   `json:"name,omitempty"`
	Digest   string   `json:"digest,omitempty"` // manifest digest
	ConfigID string   `json:"configID,omitempty"`
	Platform string   `json:"platform,omitempty"`
	Layers   []Layer  `json:"layers,omitempty"`
	Tags     []string `json:"tags,omitempty"`
}

// Document is a whole SBOM.
type Document struct {
	Target        string         `json:"target"`
	Image         *Image         `json:"image,omitempty"`
	Distro        *Distro        `json:"distro,omitempty"`
	Packages      []Package      `json:"packages"`
	Relationships []Relationship `json:"relationships,omitempty"`
	// Source says where the packages came from: unpack, attached, embedded, sbom-file.
	Source string `json:"source,omitempty"`
	// Tool and timestamp when the document was decoded from a file.
	Tool    string `json:"tool,omitempty"`
	Created string `json:"created,omitempty"`
}

// Sort orders packages by ecosystem, name, version, first path; it makes
// every output deterministic.
func (d *Document) Sort() {
	sort.SliceStable(d.Packages, func(i, j int) bool {
		a, b := &d.Packages[i], &d.Packages[j]
		if a.Ecosystem != b.Ecosystem {
			return a.Ecosystem < b.Ecosystem
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return strings.Join(a.Paths, ",") < strings.Join(b.Paths, ",")
	})
	sort.SliceStable(d.Relationships, func(i, j int) bool {
		a, b := d.Relationships[i], d.Relationships[j]
		if a.From != b.From {
			return a.From < b.From
		}
		if a.To != b.To {
			return a.To < b.To
		}
		return a.Type < b.Type
	})
}
