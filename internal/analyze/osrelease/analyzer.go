// Package osrelease identifies an image's distribution from its release
// files: etc/os-release and usr/lib/os-release, etc/lsb-release,
// etc/alpine-release, etc/redhat-release, etc/system-release and
// etc/debian_version. Each file yields its own Result.Distro; Pick
// chooses among them once the whole image has been read.
package osrelease

import (
	"context"
	"fmt"
	"io"
	"io/fs"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads release files.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "osrelease" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// parsers by path; the set of paths is Precedence.
var parsers = map[string]func(io.Reader) (*sbom.Distro, error){
	"etc/os-release":     ParseOSRelease,
	"usr/lib/os-release": ParseOSRelease,
	"etc/lsb-release":    ParseLSBRelease,
	"etc/alpine-release": ParseAlpineRelease,
	"etc/redhat-release": ParseRedHatRelease,
	"etc/system-release": ParseRedHatRelease,
	"etc/debian_version": ParseDebianVersion,
}

// Wants implements analyze.Analyzer.
func (Analyzer) Wants(p string, _ fs.FileInfo) bool {
	// Every wanted path starts with "etc/" or "usr/lib/"; the length check
	// keeps the map lookup off the hot path for most files.
	if len(p) < len("etc/os-release") || len(p) > len("etc/redhat-release") {
		return false
	}
	_, ok := parsers[p]
	return ok
}

// maxSize: release files are under 1 KiB.
const maxSize = 64 << 10

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(_ context.Context, f analyze.File) (*analyze.Result, error) {
	parse, ok := parsers[f.Path]
	if !ok {
		return nil, fmt.Errorf("release file %s: not a release file path", f.Path)
	}
	d, err := parse(io.LimitReader(f.Content, maxSize))
	if err != nil {
		return nil, fmt.Errorf("release file %s: %w", f.Path, err)
	}
	return &analyze.Result{Distro: d}, nil
}
