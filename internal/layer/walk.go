// Package layer walks one image layer as a stream, never extracting it to
// disk: it confines every path to the root, hands the files analyzers want
// to them, and records what the merge across layers needs (whiteouts,
// opaque directories, symlinks, which paths the layer writes).
package layer

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/sbom"
)

// Result is what one layer holds for the merge.
type Result struct {
	Index  int    // 1-based
	DiffID string // sha256:…
	// Found holds, per analyzer name, what it found in each path; the
	// layer cache stores each analyzer's part on its own, so that a new
	// analyzer version invalidates exactly what that analyzer produced.
	Found map[string]map[string]*FileResult
	// Analyzers maps each analyzer that ran (or came from the cache) to its
	// version.
	Analyzers map[string]int
	// Files is the union of Found by path, built by BuildFiles.
	Files map[string]*FileResult `json:"-"`
	// Written holds every non-directory path this layer writes (files,
	// symlinks, hard links); a later layer's entry shadows an earlier one.
	Written map[string]struct{}
	// Whiteouts are paths this layer deletes; Opaques are directories whose
	// lower-layer contents this layer hides.
	Whiteouts map[string]struct{}
	Opaques   map[string]struct{}
	// Symlinks maps a link path to its target as written.
	Symlinks map[string]string
	Warnings []string
	Bytes    int64 // uncompressed bytes read
	Duration time.Duration
}

// FileResult is the merged output of every analyzer for one file.
type FileResult struct {
	Packages  []sbom.Package
	Distro    *sbom.Distro
	Ownership []analyze.Ownership
}

// EntryError names the tar entry a layer was rejected for.
type EntryError struct {
	Entry string
	Err   error
}

func (e *EntryError) Error() string { return fmt.Sprintf("tar entry %q: %v", e.Entry, e.Err) }
func (e *EntryError) Unwrap() error { return e.Err }

// Errors a hostile layer produces.
var (
	ErrTraversal    = errors.New("path leaves the root (..)")
	ErrThroughLink  = errors.New("path is written through a symlink")
	ErrLinkEscape   = errors.New("hard link target is outside the root or not an earlier entry")
	ErrFileTooLarge = errors.New("file too large")
)

// Walk reads one layer blob (gzip, zstd or plain tar) once and runs the
// analyzers on the files they want. The blob digest is verified when the
// stream ends.
func Walk(ctx context.Context, b Blob, index int, diffID string, analyzers []analyze.Analyzer, lim Limits) (*Result, error) {
	lim = lim.WithDefaults()
	start := time.Now()
	s, err := newStream(b, lim)
	if err != nil {
		return nil, err
	}
	defer s.close()
	res, err := walkTar(ctx, s, index, diffID, analyzers, lim)
	if err != nil {
		return nil, err
	}
	if err := s.finish(); err != nil {
		return nil, err
	}
	res.Bytes = s.inflated
	res.Duration = time.Since(start)
	return res, nil
}

func walkTar(ctx context.Context, r io.Reader, index int, diffID string, analyzers []analyze.Analyzer, lim Limits) (*Result, error) {
	res := &Result{
		Index: index, DiffID: diffID,
		Found:     map[string]map[string]*FileResult{},
		Analyzers: map[string]int{},
		Written:   map[string]struct{}{},
		Whiteouts: map[string]struct{}{},
		Opaques:   map[string]struct{}{},
		Symlinks:  map[string]string{},
	}
	for _, a := range analyzers {
		res.Analyzers[a.Name()] = a.Version()
		res.Found[a.Name()] = map[string]*FileResult{}
	}
	seen := map[string]byte{} // path -> typeflag, for hard-link and symlink checks
	tr := tar.NewReader(r)
	var wanted []analyze.Analyzer
	for n := 0; ; n++ {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if n >= lim.MaxEntries {
			return nil, &LimitError{What: "tar entries", Limit: int64(lim.MaxEntries), Got: int64(n), Flag: "--max-entries"}
		}
		h, err := tr.Next()
		if err == io.EOF {
			res.BuildFiles()
			return res, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read tar: %w", err)
		}
		p, err := Clean(h.Name)
		if err != nil {
			return nil, &EntryError{Entry: h.Name, Err: err}
		}
		if p == "" { // the root itself
			continue
		}
		if link := throughSymlink(p, seen); link != "" {
			return nil, &EntryError{Entry: h.Name, Err: fmt.Errorf("%w %q", ErrThroughLink, link)}
		}
		dir, base := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		if strings.HasPrefix(base, ".wh.") {
			if base == ".wh..wh..opq" {
				res.Opaques[dir] = struct{}{}
			} else {
				res.Whiteouts[path.Join(dir, strings.TrimPrefix(base, ".wh."))] = struct{}{}
			}
			continue
		}
		if h.Size > lim.MaxFileSize {
			return nil, &EntryError{Entry: h.Name, Err: &LimitError{What: "file size", Limit: lim.MaxFileSize, Got: h.Size, Flag: "--max-file-size"}}
		}
		switch h.Typeflag {
		case tar.TypeDir:
			seen[p] = h.Typeflag
			continue
		case tar.TypeSymlink:
			seen[p] = h.Typeflag
			res.Symlinks[p] = h.Linkname
			res.Written[p] = struct{}{}
			continue
		case tar.TypeLink:
			t, err := Clean(h.Linkname)
			if err != nil || seen[t] == 0 || seen[t] == tar.TypeDir {
				return nil, &EntryError{Entry: h.Name, Err: fmt.Errorf("%w: %q", ErrLinkEscape, h.Linkname)}
			}
			seen[p] = h.Typeflag
			res.Written[p] = struct{}{}
			// The content was streamed with the target; analyzers saw it
			// there. Copy what they found under the link's path.
			for _, found := range res.Found {
				if fr := found[t]; fr != nil {
					found[p] = relocate(fr, p)
				}
			}
			continue
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			res.Warnings = append(res.Warnings, fmt.Sprintf("tar entry %q: device or fifo skipped", h.Name))
			continue
		case tar.TypeReg, tar.TypeGNUSparse: // archive/tar reports old-style regular files as TypeReg
		default:
			continue // xattrs, long names are handled by archive/tar
		}
		seen[p] = tar.TypeReg
		res.Written[p] = struct{}{}
		fi := h.FileInfo()
		wanted = wanted[:0]
		for _, a := range analyzers {
			if a.Wants(p, fi) {
				wanted = append(wanted, a)
			}
		}
		if len(wanted) == 0 {
			continue
		}
		big := h.Size >= bigFile
		if big {
			select {
			case bigFiles <- struct{}{}:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		fr, err := analyzeFile(ctx, tr, p, fi, h.Size, wanted)
		if big {
			<-bigFiles
		}
		if err != nil {
			return nil, &EntryError{Entry: h.Name, Err: err}
		}
		res.Warnings = append(res.Warnings, fr.warnings...)
		for name, r := range fr.byAnalyzer {
			res.Found[name][p] = r
		}
	}
}

// bigFile is the size from which an analyzed file may be held in memory
// whole (executables, archives); bigFiles lets one such file be analysed at
// a time across all layer walks, which bounds peak memory by the largest
// file rather than by the sum over parallel layers.
const bigFile = 4 << 20

var bigFiles = make(chan struct{}, 1)

type fileOutcome struct {
	byAnalyzer map[string]*FileResult
	warnings   []string
}

// analyzeFile hands one file to the analyzers that want it. Several
// analyzers rarely want one file; when they do, the content is read once
// into memory and replayed.
func analyzeFile(ctx context.Context, r io.Reader, p string, fi fs.FileInfo, size int64, wanted []analyze.Analyzer) (fileOutcome, error) {
	var out fileOutcome
	var content []byte
	if len(wanted) > 1 {
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return out, err
		}
		content = b
	}
	for _, a := range wanted {
		var cr io.Reader = io.LimitReader(r, size)
		if content != nil {
			cr = bytes.NewReader(content)
		}
		ar, err := a.Analyze(ctx, analyze.File{Path: p, Info: fi, Content: cr})
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return out, err
			}
			// A file an analyzer cannot parse does not fail the scan.
			msg := fmt.Sprintf("analyzer %s: %s: %v", a.Name(), p, err)
			slog.Debug(msg)
			out.warnings = append(out.warnings, msg)
			continue
		}
		if ar == nil {
			continue
		}
		if len(ar.Packages) == 0 && ar.Distro == nil && len(ar.Ownership) == 0 {
			continue
		}
		if out.byAnalyzer == nil {
			out.byAnalyzer = map[string]*FileResult{}
		}
		out.byAnalyzer[a.Name()] = &FileResult{Packages: ar.Packages, Distro: ar.Distro, Ownership: ar.Ownership}
	}
	return out, nil
}

// BuildFiles builds Files, the union by path of what every analyzer found.
func (r *Result) BuildFiles() {
	r.Files = map[string]*FileResult{}
	names := make([]string, 0, len(r.Found))
	for n := range r.Found {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for p, fr := range r.Found[n] {
			u := r.Files[p]
			if u == nil {
				u = &FileResult{}
				r.Files[p] = u
			}
			u.Packages = append(u.Packages, fr.Packages...)
			if fr.Distro != nil {
				u.Distro = fr.Distro
			}
			u.Ownership = append(u.Ownership, fr.Ownership...)
		}
	}
}

func relocate(fr *FileResult, p string) *FileResult {
	out := &FileResult{Distro: fr.Distro, Ownership: fr.Ownership}
	for _, pkg := range fr.Packages {
		pkg.Paths = []string{p}
		out.Packages = append(out.Packages, pkg)
	}
	return out
}

// Clean confines a tar entry name to the root: it strips a leading "/" or
// "./" and refuses any ".." that would climb above the root.
func Clean(name string) (string, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return "", errors.New("NUL byte in path")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", ErrTraversal
		}
	}
	p := path.Clean("/" + name)
	return strings.TrimPrefix(p, "/"), nil
}

// throughSymlink returns the symlink among p's parent directories that this
// layer created, if any: writing through it could land outside the root.
func throughSymlink(p string, seen map[string]byte) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			if seen[p[:i]] == tar.TypeSymlink {
				return p[:i]
			}
		}
	}
	return ""
}
