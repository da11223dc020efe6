package dpkg

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Bounds for info/<pkg>.list files: real ones hold at most some tens of
// thousands of paths (linux-image, texlive), each well under 4 KiB.
const (
	maxListLine  = 64 << 10
	maxListPaths = 1_000_000
)

// PackageFromListPath returns the package name a var/lib/dpkg/info/*.list
// file is named after, without its ":arch" qualifier
// ("libc6:amd64.list" -> "libc6").
func PackageFromListPath(p string) string {
	base := p[strings.LastIndexByte(p, '/')+1:]
	base = strings.TrimSuffix(base, ".list")
	if i := strings.IndexByte(base, ':'); i >= 0 {
		base = base[:i]
	}
	return base
}

// ParseList reads a dpkg .list file: one absolute path a line, as dpkg
// recorded it. It returns the paths cleaned and relative to the root; the
// root itself ("/.") is dropped.
func ParseList(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxListLine)
	var files []string
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimRight(sc.Text(), "\r")
		if s == "" {
			continue
		}
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("line %d: NUL byte in path", line)
		}
		p := strings.TrimPrefix(path.Clean("/"+s), "/")
		if p == "" || p == "." {
			continue
		}
		if len(files) >= maxListPaths {
			return nil, fmt.Errorf("more than %d paths", maxListPaths)
		}
		files = append(files, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line longer than %d bytes or unreadable: %w", maxListLine, err)
	}
	return files, nil
}
