package golang

import (
	"fmt"
	"io"

	"golang.org/x/mod/modfile"

	"github.com/stella-scan/stella/internal/sbom"
)

// maxGoMod bounds a go.mod read into memory (real ones are a few KB).
const maxGoMod = 16 << 20

// ParseGoMod reads a go.mod and returns every required module, direct and
// "// indirect" (Metadata["indirect"]), at the version written. The main
// module is not a dependency. The go.mod of the Go distribution itself
// (module "std" or "cmd" under GOROOT/src) is skipped: its requirements
// are vendored into the toolchain and reported through its binaries.
func ParseGoMod(r io.Reader) ([]sbom.Package, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxGoMod+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxGoMod {
		return nil, fmt.Errorf("go.mod larger than %d bytes", maxGoMod)
	}
	mf, err := modfile.ParseLax("go.mod", b, nil)
	if err != nil {
		return nil, err
	}
	if mf.Module != nil && (mf.Module.Mod.Path == "std" || mf.Module.Mod.Path == "cmd") {
		return nil, nil
	}
	var pkgs []sbom.Package
	for _, req := range mf.Require {
		if req == nil || req.Mod.Path == "" || req.Mod.Version == "" {
			continue
		}
		p := newPackage(req.Mod.Path, req.Mod.Version, SourceGoMod)
		if req.Indirect {
			p.Metadata["indirect"] = "true"
		}
		if mf.Module != nil {
			p.Metadata["module"] = mf.Module.Mod.Path
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
