// Package java finds Maven packages in Java archives (.jar, .war, .ear,
// and Jenkins' .jpi/.hpi): every META-INF/maven/<g>/<a>/pom.properties,
// nested archives (WEB-INF/lib, BOOT-INF/lib, lib/) down to a depth limit,
// and, for archives without pom.properties, the manifest or the file name.
package java

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads Java archives.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "java-archive" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wants implements analyze.Analyzer: archives by extension, any case.
func (Analyzer) Wants(p string, fi fs.FileInfo) bool {
	return isArchiveName(p) && (fi == nil || fi.Size() > 0)
}

// Analyze implements analyze.Analyzer.
func (Analyzer) Analyze(ctx context.Context, f analyze.File) (*analyze.Result, error) {
	data, err := analyze.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("java archive %s: %w", f.Path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pkgs, err := ParseArchive(data, f.Path, DefaultLimits)
	if err != nil {
		if len(pkgs) == 0 {
			return nil, err
		}
		// Packages found before a nested archive failed or a limit was
		// reached are still real; say what was skipped.
		slog.Warn("java archive partly read", "path", f.Path, "err", err)
	}
	if len(pkgs) == 0 {
		return nil, nil
	}
	return &analyze.Result{Packages: pkgs}, nil
}

var archiveExts = [...]string{".jar", ".war", ".ear", ".jpi", ".hpi"}

// isArchiveName reports whether name ends in a Java archive extension,
// ignoring case, without allocating: Wants runs for every file.
func isArchiveName(name string) bool {
	if len(name) < 5 || name[len(name)-4] != '.' {
		return false
	}
	ext := name[len(name)-4:]
	for _, e := range archiveExts {
		if strings.EqualFold(ext, e) {
			return true
		}
	}
	return false
}
