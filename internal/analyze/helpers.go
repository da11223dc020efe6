package analyze

import (
	"fmt"
	"io"

	"github.com/stella-scan/stella/internal/sbom"
)

// ScopeRank orders scopes when one name@version appears several times in
// a lock file: prod beats optional beats dev beats workspace beats none.
func ScopeRank(s string) int {
	switch s {
	case "prod":
		return 4
	case "optional":
		return 3
	case "dev":
		return 2
	case "workspace":
		return 1
	}
	return 0
}

// Dedup keeps one package per name@version, with the strongest scope, in
// first-seen order.
type Dedup struct {
	idx  map[string]int
	Pkgs []sbom.Package
}

// Add records p, or strengthens the scope of the package already seen.
func (d *Dedup) Add(p sbom.Package) {
	if d.idx == nil {
		d.idx = map[string]int{}
	}
	k := p.Name + "@" + p.Version
	if i, ok := d.idx[k]; ok {
		if ScopeRank(p.Scope) > ScopeRank(d.Pkgs[i].Scope) {
			d.Pkgs[i].Scope = p.Scope
		}
		return
	}
	d.idx[k] = len(d.Pkgs)
	d.Pkgs = append(d.Pkgs, p)
}

// ReadLimited reads r whole, refusing more than max bytes: parsers that
// need the whole input stay bounded for fuzzing and direct callers too.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	return b, nil
}
