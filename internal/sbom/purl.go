package sbom

import (
	"strings"

	packageurl "github.com/package-url/packageurl-go"
)

// PURL builds the package URL of p. OS packages get the distro as namespace
// and a distro qualifier (pkg:deb/debian/curl@7.88.1-10?arch=amd64&distro=debian-12);
// Maven names are "group:artifact"; Go and npm scoped names split at the
// last slash.
func PURL(p *Package) string {
	var ns, name = "", p.Name
	var q packageurl.Qualifiers
	switch p.Ecosystem {
	case Deb, APK, RPM:
		if p.Distro != nil {
			ns = p.Distro.ID
			d := p.Distro.ID
			if p.Distro.Version != "" {
				d += "-" + p.Distro.Version
			}
			if p.Arch != "" {
				q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
			}
			q = append(q, packageurl.Qualifier{Key: "distro", Value: d})
		} else if p.Arch != "" {
			q = append(q, packageurl.Qualifier{Key: "arch", Value: p.Arch})
		}
		if p.SourceName != "" && p.SourceName != p.Name && p.Ecosystem == Deb {
			q = append(q, packageurl.Qualifier{Key: "upstream", Value: p.SourceName})
		}
	case Maven:
		if i := strings.IndexByte(name, ':'); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
	case Golang, NPM, Composer:
		if i := strings.LastIndexByte(name, '/'); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
	case PyPI:
		name = strings.ToLower(name)
	}
	v := p.Version
	if v == "(devel)" {
		v = ""
	}
	return packageurl.NewPackageURL(p.Ecosystem, ns, name, v, q, "").ToString()
}

// FromPURL is the inverse of PURL: it parses a package URL into a Package
// with Ecosystem, Name, Version and PURL set, and for OS packages Arch,
// Distro (from the namespace and the distro qualifier) and SourceName (from
// the upstream qualifier). Maven names come back as "group:artifact", Go,
// npm and Composer names as "namespace/name". The purl parser lower-cases
// some names (Go, Debian, PyPI); callers that also have the name as written
// should prefer it when SameName says it is the same.
func FromPURL(s string) (Package, error) {
	u, err := packageurl.FromString(s)
	if err != nil {
		return Package{}, err
	}
	p := Package{Ecosystem: u.Type, Name: u.Name, Version: u.Version, PURL: s}
	q := u.Qualifiers.Map()
	switch u.Type {
	case Maven:
		if u.Namespace != "" {
			p.Name = u.Namespace + ":" + u.Name
		}
	case Deb, APK, RPM:
		p.Arch = q["arch"]
		if u.Namespace != "" {
			d := &Distro{ID: u.Namespace}
			if v, ok := strings.CutPrefix(q["distro"], u.Namespace+"-"); ok {
				d.Version = v
			}
			p.Distro = d
		}
		if up := q["upstream"]; up != "" && u.Type == Deb {
			p.SourceName = up
		}
	default:
		if u.Namespace != "" {
			p.Name = u.Namespace + "/" + u.Name
		}
	}
	return p, nil
}

// SameName reports whether name, as a document wrote it, is the package
// that the purl-derived name fromPURL stands for: equal once case, and for
// PyPI the "_" and "." separators, are normalised.
func SameName(eco, name, fromPURL string) bool {
	if eco == PyPI {
		n := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
		f := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(fromPURL))
		return n == f
	}
	return strings.EqualFold(name, fromPURL)
}
