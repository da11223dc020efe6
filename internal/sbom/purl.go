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
