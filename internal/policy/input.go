package policy

import (
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// Input is the policy input: what Rego sees as `input`. Its JSON form is
// documented by api/schema/policy-input.json and kept stable: fields are
// only ever added. Every field of a finding is always present (empty
// when unknown), because in Rego `not f(x.missing)` is undefined rather
// than true: rules can write `not f.vex.status in {...}` safely.
type Input struct {
	Image      Image      `json:"image"`
	SBOM       SBOM       `json:"sbom"`
	Findings   []Finding  `json:"findings"`
	Provenance Provenance `json:"provenance"`
	// Summary is derived from Findings by Normalize; one read from JSON
	// is replaced.
	Summary *Summary `json:"summary,omitempty"`
}

// Image is the scanned image.
type Image struct {
	// Name is the reference as scanned (registry/repo:tag, oci:DIR…).
	// Waivers match their image glob against it.
	Name     string  `json:"name"`
	Digest   string  `json:"digest,omitempty"`   // manifest digest, sha256:…
	Platform string  `json:"platform,omitempty"` // os/arch[/variant]
	Layers   []Layer `json:"layers"`
	// Signature is set when the caller checked the image's cosign
	// signature (the admission webhook with --require-signature-key).
	Signature *Signature `json:"signature,omitempty"`
}

// Signature is the outcome of a signature check of the image.
type Signature struct {
	// Required says the caller demands a valid signature: the built-in
	// rule denies the image unless Verified.
	Required bool   `json:"required"`
	Verified bool   `json:"verified"`
	Key      string `json:"key,omitempty"`   // sha256 of the public key
	Error    string `json:"error,omitempty"` // why it did not verify
}

// Layer is one image layer, bottom first.
type Layer struct {
	Index     int    `json:"index"` // 1-based
	DiffID    string `json:"diffID"`
	Digest    string `json:"digest,omitempty"`
	Size      int64  `json:"size,omitempty"`
	CreatedBy string `json:"createdBy,omitempty"`
}

// SBOM summarises the packages found.
type SBOM struct {
	// Source says where the packages came from: unpack, attached, embedded
	// or sbom-file.
	Source   string    `json:"source,omitempty"`
	Distro   string    `json:"distro,omitempty"` // id:version, e.g. debian:12
	Packages []Package `json:"packages"`
}

// Package is one installed package.
type Package struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"` // purl type: deb, apk, npm…
	PURL      string `json:"purl,omitempty"`
	Layer     string `json:"layer,omitempty"` // diffID of the layer that added it
}

// PackageRef names the package a finding is about.
type PackageRef struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Ecosystem string `json:"ecosystem"`
	PURL      string `json:"purl,omitempty"`
}

// Severity labels, upper case as the matcher writes them.
const (
	SeverityCritical = "CRITICAL"
	SeverityHigh     = "HIGH"
	SeverityMedium   = "MEDIUM"
	SeverityLow      = "LOW"
	SeverityUnknown  = "UNKNOWN"
)

// Finding is one vulnerability of one package.
type Finding struct {
	ID        string     `json:"id"` // CVE-…, else GHSA-…, GO-…
	Aliases   []string   `json:"aliases"`
	Package   PackageRef `json:"package"`
	Installed string     `json:"installed"`
	// Fixed lists the versions that fix it; empty when no fix exists.
	Fixed []string `json:"fixed"`
	// State is the advisory state: fixed, open, will_not_fix, no_dsa,
	// not_affected (empty when unknown).
	State    string  `json:"state"`
	Severity string  `json:"severity"` // CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN
	CVSS     CVSS    `json:"cvss"`     // score 0 when unknown
	KEV      bool    `json:"kev"`
	EPSS     float64 `json:"epss"` // probability 0..1; 0 when unknown
	VEX      VEX     `json:"vex"`  // status empty when no statement applies
}

// CVSS is the score behind the chosen severity.
type CVSS struct {
	Score   float64 `json:"score"`
	Vector  string  `json:"vector"`
	Version string  `json:"version"` // 2.0, 3.1, 4.0
}

// VEX is the VEX statement applied to a finding.
type VEX struct {
	Status        string `json:"status"` // not_affected, affected, fixed, under_investigation
	Justification string `json:"justification"`
}

// Provenance says what produced the input.
type Provenance struct {
	StellaVersion string `json:"stellaVersion,omitempty"`
	DBVersion     string `json:"dbVersion,omitempty"`
	// DBUpdated is when the DB was built (RFC 3339); DBAgeHours its age at
	// scan time, so a rule can refuse a stale DB without a clock.
	DBUpdated  string            `json:"dbUpdated,omitempty"`
	DBAgeHours float64           `json:"dbAgeHours,omitempty"`
	Analyzers  map[string]int    `json:"analyzers,omitempty"` // name -> version
	Plugins    map[string]string `json:"plugins,omitempty"`   // name -> sha256
	SBOMSource string            `json:"sbomSource,omitempty"`
}

// FindingInput is the small, scan-independent view of a finding that
// InputFrom takes; the scan side fills it from its own result.
type FindingInput struct {
	ID        string
	Aliases   []string
	Package   sbom.Package // name, version, ecosystem, purl are used
	Installed string       // defaults to Package.Version
	Fixed     []string
	State     string
	Severity  string
	CVSS      CVSS
	KEV       bool
	EPSS      float64
	VEX       VEX
}

// InputFrom builds the policy input from an SBOM document, its findings
// and the provenance. doc may be nil (then the image and packages are
// empty). Slices are never nil, so rules can count them without a default.
func InputFrom(doc *sbom.Document, findings []FindingInput, prov Provenance) Input {
	in := Input{
		Image:      Image{Layers: []Layer{}},
		SBOM:       SBOM{Packages: []Package{}},
		Findings:   make([]Finding, 0, len(findings)),
		Provenance: prov,
	}
	if doc != nil {
		in.Image.Name = doc.Target
		if im := doc.Image; im != nil {
			if im.Name != "" {
				in.Image.Name = im.Name
			}
			in.Image.Digest = im.Digest
			in.Image.Platform = im.Platform
			for _, l := range im.Layers {
				in.Image.Layers = append(in.Image.Layers, Layer{Index: l.Index, DiffID: l.DiffID, Digest: l.Digest, Size: l.Size, CreatedBy: l.CreatedBy})
			}
		}
		in.SBOM.Source = doc.Source
		if d := doc.Distro; d != nil {
			in.SBOM.Distro = d.ID
			if d.Version != "" {
				in.SBOM.Distro += ":" + d.Version
			}
		}
		in.SBOM.Packages = make([]Package, 0, len(doc.Packages))
		for i := range doc.Packages {
			p := &doc.Packages[i]
			in.SBOM.Packages = append(in.SBOM.Packages, Package{Name: p.Name, Version: p.Version, Ecosystem: p.Ecosystem, PURL: p.PURL, Layer: p.Layer})
		}
		if in.Provenance.SBOMSource == "" {
			in.Provenance.SBOMSource = doc.Source
		}
	}
	for i := range findings {
		in.Findings = append(in.Findings, findings[i].finding())
	}
	in.Normalize()
	return in
}

func (f *FindingInput) finding() Finding {
	out := Finding{
		ID:        f.ID,
		Aliases:   append([]string{}, f.Aliases...),
		Package:   PackageRef{Name: f.Package.Name, Version: f.Package.Version, Ecosystem: f.Package.Ecosystem, PURL: f.Package.PURL},
		Installed: f.Installed,
		Fixed:     append([]string{}, f.Fixed...),
		State:     f.State,
		Severity:  f.Severity,
		CVSS:      f.CVSS,
		KEV:       f.KEV,
		EPSS:      f.EPSS,
		VEX:       f.VEX,
	}
	if out.Installed == "" {
		out.Installed = f.Package.Version
	}
	return out
}

// Normalize makes an input read from JSON safe for the rules: nil slices
// become empty, severities upper case (unknown when empty), and findings
// sorted by id and package so that decisions are deterministic; the
// summary is computed afresh.
func (in *Input) Normalize() {
	if in.Image.Layers == nil {
		in.Image.Layers = []Layer{}
	}
	if in.SBOM.Packages == nil {
		in.SBOM.Packages = []Package{}
	}
	if in.Findings == nil {
		in.Findings = []Finding{}
	}
	for i := range in.Findings {
		f := &in.Findings[i]
		if f.Aliases == nil {
			f.Aliases = []string{}
		}
		if f.Fixed == nil {
			f.Fixed = []string{}
		}
		f.Severity = normalSeverity(f.Severity)
	}
	sort.SliceStable(in.Findings, func(i, j int) bool {
		a, b := &in.Findings[i], &in.Findings[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.Package.Name != b.Package.Name {
			return a.Package.Name < b.Package.Name
		}
		return a.Installed < b.Installed
	})
	in.Summary = summarize(in.Findings)
}

// normalSeverity is one of the five severity labels; the bundle's
// lib._severity is the same in Rego.
func normalSeverity(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	switch s {
	case SeverityCritical, SeverityHigh, SeverityMedium, SeverityLow:
		return s
	case "MODERATE":
		return SeverityMedium
	}
	return SeverityUnknown
}
