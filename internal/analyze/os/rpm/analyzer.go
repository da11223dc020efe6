// Package rpm finds RPM packages in the rpm database in all three of its
// formats: Berkeley DB (var/lib/rpm/Packages: RHEL/CentOS ≤ 8, Amazon
// Linux 2), SQLite (rpmdb.sqlite: Fedora ≥ 33, RHEL 9, Amazon Linux 2023)
// and ndb (Packages.db: SUSE), with the files each package owns.
package rpm

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/stella-scan/stella/internal/analyze"
)

func init() { analyze.Register(Analyzer{}) }

// Analyzer reads rpm databases.
type Analyzer struct{}

// Name implements analyze.Analyzer.
func (Analyzer) Name() string { return "rpm" }

// Version implements analyze.Analyzer.
func (Analyzer) Version() int { return 1 }

// Wants implements analyze.Analyzer: the database paths rpm uses, old
// (var/lib/rpm) and new (usr/lib/sysimage/rpm).
func (Analyzer) Wants(p string, _ fs.FileInfo) bool {
	switch p {
	case "var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "var/lib/rpm/rpmdb.sqlite",
		"usr/lib/sysimage/rpm/Packages", "usr/lib/sysimage/rpm/Packages.db", "usr/lib/sysimage/rpm/rpmdb.sqlite":
		return true
	}
	return false
}

// Analyze implements analyze.Analyzer. The database is read whole (its
// formats need random access); the walk's per-file limit bounds it.
func (Analyzer) Analyze(ctx context.Context, f analyze.File) (*analyze.Result, error) {
	data, err := analyze.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("rpm database %s: %w", f.Path, err)
	}
	pkgs, err := ParseDatabase(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("rpm database %s: %w", f.Path, err)
	}
	for i := range pkgs {
		pkgs[i].Paths = []string{f.Path}
	}
	return &analyze.Result{Packages: pkgs}, nil
}
