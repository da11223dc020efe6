package dpkg

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stella-scan/stella/internal/analyze/os/dpkg/control"
	"github.com/stella-scan/stella/internal/sbom"
)

// maxStanzas bounds the packages one status file may hold; real systems
// have a few thousand.
const maxStanzas = 200_000

// ParseStatus reads dpkg status data: var/lib/dpkg/status (every stanza of
// the database) or a distroless var/lib/dpkg/status.d/<pkg> file (one
// package's control stanza, without a Status field). A stanza counts when
// its Status says the package is on disk (installed, or installed with
// triggers pending) or when it has no Status at all; removed,
// config-files-only and half-installed packages do not.
func ParseStatus(r io.Reader) ([]sbom.Package, error) {
	cr := control.NewReader(r, control.DefaultLimits)
	var pkgs []sbom.Package
	for n := 0; ; n++ {
		st, err := cr.Next()
		if errors.Is(err, io.EOF) {
			return pkgs, nil
		}
		if err != nil {
			return nil, err
		}
		if n >= maxStanzas {
			return nil, fmt.Errorf("more than %d stanzas: %w", maxStanzas, control.ErrLimit)
		}
		if status, ok := st.Get("Status"); ok && !installed(status) {
			continue
		}
		p, err := fromStanza(st)
		if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
}

// installed reads dpkg's "want flag status" triple; the third word is the
// package's state.
func installed(status string) bool {
	f := strings.Fields(status)
	if len(f) != 3 {
		return false
	}
	switch f[2] {
	case "installed", "triggers-pending", "triggers-awaited":
		return true
	}
	return false
}

// metaFields are the control fields kept as Metadata, keyed by the
// property name a codec writes.
var metaFields = [...]struct{ field, key string }{
	{"Maintainer", "maintainer"},
	{"Installed-Size", "installedSize"},
	{"Section", "section"},
	{"Priority", "priority"},
	{"Multi-Arch", "multiArch"},
	{"Homepage", "homepage"},
	{"Essential", "essential"},
}

func fromStanza(st *control.Stanza) (sbom.Package, error) {
	name := strings.TrimSpace(st.Value("Package"))
	version := strings.TrimSpace(st.Value("Version"))
	if name == "" || version == "" {
		return sbom.Package{}, fmt.Errorf("stanza at line %d: missing Package or Version", st.Line)
	}
	if strings.ContainsAny(name, " \t\n") || strings.ContainsAny(version, " \t\n") {
		return sbom.Package{}, fmt.Errorf("stanza at line %d: bad Package %q or Version %q", st.Line, name, version)
	}
	// dpkg never writes an architecture qualifier into Package, but
	// hand-made stanzas do; the name that advisories use has none.
	if i := strings.IndexByte(name, ':'); i > 0 {
		name = name[:i]
	}
	p := sbom.Package{
		Name:      name,
		Version:   version,
		Ecosystem: sbom.Deb,
		Arch:      strings.TrimSpace(st.Value("Architecture")),
	}
	p.SourceName, p.SourceVersion = source(st.Value("Source"), name, version)
	for _, m := range metaFields {
		if v := strings.TrimSpace(st.Value(m.field)); v != "" {
			if p.Metadata == nil {
				p.Metadata = map[string]string{}
			}
			p.Metadata[m.key] = v
		}
	}
	p.PURL = sbom.PURL(&p)
	return p, nil
}

// source applies dpkg's rule for the source package: "Source: foo" names
// it with the binary's version, "Source: foo (1.2-3)" gives its own
// version (binNMUs, packages versioned apart from their source), and no
// Source field means the source is the binary package itself.
func source(field, name, version string) (string, string) {
	field = strings.TrimSpace(field)
	if field == "" {
		return name, version
	}
	src, ver := field, version
	if i := strings.IndexByte(field, '('); i >= 0 {
		src = strings.TrimSpace(field[:i])
		if j := strings.IndexByte(field[i:], ')'); j > 0 {
			if v := strings.TrimSpace(field[i+1 : i+j]); v != "" {
				ver = v
			}
		}
	}
	if src == "" {
		src = name
	}
	return src, ver
}
