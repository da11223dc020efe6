package golang

import (
	"debug/buildinfo"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// Metadata["source"] values.
const (
	SourceBinary = "binary"
	SourceGoMod  = "gomod"
)

// ParseBinary reads the build information of a Go binary (any format and
// architecture the standard library knows: ELF, Mach-O, PE, XCOFF, Plan 9)
// and returns the packages it was built from, as `go version -m` lists
// them:
//   - "stdlib" at the toolchain version ("go1.21.0"; a GOEXPERIMENT
//     suffix such as " X:boringcrypto" is kept in Metadata["goVersion"]);
//   - the main module, at "(devel)" when the build recorded no version;
//   - each dependency, at its replacement's version when it was replaced
//     (the linked code is the replacement's), under its original path.
func ParseBinary(r io.ReaderAt) (pkgs []sbom.Package, err error) {
	// debug/elf, debug/macho and debug/pe parse hostile headers; turn a
	// panic in them into an error rather than taking down the scan.
	defer func() {
		if p := recover(); p != nil {
			pkgs, err = nil, fmt.Errorf("go build info: malformed executable: %v", p)
		}
	}()
	bi, err := buildinfo.Read(r)
	if err != nil {
		return nil, fmt.Errorf("go build info: %w", err)
	}
	return fromBuildInfo(bi), nil
}

// fromBuildInfo lists the packages of parsed build info.
func fromBuildInfo(bi *debug.BuildInfo) (pkgs []sbom.Package) {
	goVersion, _, _ := strings.Cut(bi.GoVersion, " ")
	settings := map[string]string{}
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS", "GOARCH", "vcs.revision", "-tags", "CGO_ENABLED":
			settings[s.Key] = s.Value
		}
	}
	meta := func(p *sbom.Package) {
		p.Metadata["goVersion"] = bi.GoVersion
		for k, v := range settings {
			p.Metadata[k] = v
		}
	}
	std := newPackage("stdlib", goVersion, SourceBinary)
	if v, ok := strings.CutPrefix(goVersion, "go"); ok && v != "" && v[0] >= '0' && v[0] <= '9' {
		std.CPEs = []string{"cpe:2.3:a:golang:go:" + v + ":*:*:*:*:*:*:*"}
	}
	meta(&std)
	pkgs = append(pkgs, std)
	if bi.Main.Path != "" {
		v := bi.Main.Version
		if v == "" {
			v = "(devel)"
		}
		p := newPackage(bi.Main.Path, v, SourceBinary)
		p.Metadata["main"] = "true"
		if bi.Path != "" {
			p.Metadata["mainPackage"] = bi.Path
		}
		meta(&p)
		pkgs = append(pkgs, p)
	}
	for _, d := range bi.Deps {
		if d == nil || d.Path == "" {
			continue
		}
		v := d.Version
		if d.Replace != nil && d.Replace.Version != "" {
			v = d.Replace.Version
		}
		if v == "" {
			continue
		}
		p := newPackage(d.Path, v, SourceBinary)
		if d.Sum != "" {
			p.Metadata["h1"] = d.Sum
		}
		if d.Replace != nil {
			p.Metadata["replacedBy"] = strings.TrimSpace(d.Replace.Path + " " + d.Replace.Version)
			if d.Replace.Sum != "" {
				p.Metadata["h1"] = d.Replace.Sum
			}
		}
		meta(&p)
		pkgs = append(pkgs, p)
	}
	return pkgs
}
