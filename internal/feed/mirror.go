package feed

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ulikunitz/xz"
)

// Limits bound the cost of one document. Zero fields take the defaults.
type Limits struct {
	MaxDocBytes   int64 // decompressed bytes of one document or zip member (default 512 MiB)
	MaxZipMembers int   // members read from one zip (default 2,000,000)
}

// Default limits.
const (
	DefaultMaxDocBytes   = 512 << 20
	DefaultMaxZipMembers = 2_000_000
)

func (l Limits) docBytes() int64 {
	if l.MaxDocBytes > 0 {
		return l.MaxDocBytes
	}
	return DefaultMaxDocBytes
}

func (l Limits) zipMembers() int {
	if l.MaxZipMembers > 0 {
		return l.MaxZipMembers
	}
	return DefaultMaxZipMembers
}

// Kind is what a document's content looks like, found by sniffing the
// first bytes after decompression (never by the file name).
type Kind string

// Kinds of documents.
const (
	KindJSON Kind = "json" // starts with { or [ (after BOM and white space)
	KindXML  Kind = "xml"  // starts with <
	KindText Kind = "text" // anything else: CSV, YAML, the Debian lists, …
)

// Doc is one decompressed document read from a mirror (a file, or one
// member of a zip).
type Doc struct {
	Path        string    // mirror path; a zip member is "file.zip!member"
	Compression string    // "", "gzip", "bzip2", "xz" (outer layer of the file)
	Kind        Kind      // sniffed content kind
	Data        []byte    // decompressed content, at most Limits.MaxDocBytes
	ModTime     time.Time // file modification time
	Digest      string    // sha256:… of Data, the provenance digest
}

// File is one regular file found under a mirror directory.
type File struct {
	Path    string // full path
	Rel     string // path relative to the source's mirror directory, slash-separated
	Size    int64
	ModTime time.Time
}

// MirrorDir returns Mirror/<name> and checks it is a directory.
func (s Source) MirrorDir(name string) (string, error) {
	dir := filepath.Join(s.Mirror, name)
	st, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("mirror %s: no %s/ directory: %w (lay it out as DIR/%s/…)", s.Mirror, name, err, name)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("mirror %s: %s is not a directory", s.Mirror, dir)
	}
	return dir, nil
}

// Files lists the regular files under Mirror/<name> at any depth, sorted by
// relative path. want (may be nil) filters by relative path. Symbolic links
// are not followed: a mirror is untrusted input.
func (s Source) Files(ctx context.Context, name string, want func(rel string) bool) ([]File, error) {
	dir, err := s.MirrorDir(name)
	if err != nil {
		return nil, err
	}
	var files []File
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			s.Report(ctx, name, path, err)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if want != nil && !want(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			s.Report(ctx, name, path, err)
			return nil
		}
		files = append(files, File{Path: path, Rel: rel, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, nil
}

// Walk reads every wanted file under Mirror/<name>, decompresses it
// (gzip, bzip2, xz, recognised by magic bytes), expands zip archives into
// their members, and calls fn with each document. A file or member that
// cannot be read is reported through s.Report and skipped; an error from
// fn stops the walk and is returned.
func (s Source) Walk(ctx context.Context, name string, want func(rel string) bool, fn func(Doc) error) error {
	files, err := s.Files(ctx, name, want)
	if err != nil {
		return err
	}
	return s.ReadFiles(ctx, name, files, fn)
}

// ReadFiles is the reading half of Walk, for connectors that first choose
// among the listed files (for example with Newest).
func (s Source) ReadFiles(ctx context.Context, name string, files []File, fn func(Doc) error) error {
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.readFile(ctx, name, f, fn); err != nil {
			return err
		}
	}
	return nil
}

func (s Source) readFile(ctx context.Context, name string, f File, fn func(Doc) error) error {
	fh, err := os.Open(f.Path)
	if err != nil {
		s.Report(ctx, name, f.Path, err)
		return nil
	}
	defer fh.Close()
	var magic [6]byte
	n, _ := io.ReadFull(fh, magic[:])
	if _, err := fh.Seek(0, io.SeekStart); err != nil {
		s.Report(ctx, name, f.Path, err)
		return nil
	}
	// A zip on disk is read in place, member by member, without loading it.
	if isZip(magic[:n]) {
		zr, err := zip.NewReader(fh, f.Size)
		if err != nil {
			s.Report(ctx, name, f.Path, fmt.Errorf("zip: %w", err))
			return nil
		}
		return s.readZip(ctx, name, f, zr, fn)
	}
	data, comp, err := decompress(fh, s.Limits.docBytes())
	if err != nil {
		s.Report(ctx, name, f.Path, err)
		return nil
	}
	return s.readData(ctx, name, f, data, comp, fn)
}

// ReadBytes treats data fetched over HTTP like a mirror file: it undoes
// compression, expands a zip, and calls fn per document; unreadable parts
// are reported and skipped. path names the data in messages (the URL).
func (s Source) ReadBytes(ctx context.Context, name, path string, data []byte, fn func(Doc) error) error {
	data, comp, err := decompress(bytes.NewReader(data), s.Limits.docBytes())
	if err != nil {
		s.Report(ctx, name, path, err)
		return nil
	}
	return s.readData(ctx, name, File{Path: path, Rel: path, Size: int64(len(data)), ModTime: time.Now()}, data, comp, fn)
}

func (s Source) readData(ctx context.Context, name string, f File, data []byte, comp string, fn func(Doc) error) error {
	if isZip(data) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			s.Report(ctx, name, f.Path, fmt.Errorf("zip: %w", err))
			return nil
		}
		return s.readZip(ctx, name, f, zr, fn)
	}
	doc := Doc{Path: f.Path, Compression: comp, Kind: Sniff(data), Data: data, ModTime: f.ModTime, Digest: Digest(data)}
	return fn(doc)
}

func (s Source) readZip(ctx context.Context, name string, f File, zr *zip.Reader, fn func(Doc) error) error {
	if len(zr.File) > s.Limits.zipMembers() {
		s.Report(ctx, name, f.Path, fmt.Errorf("zip has %d members, more than the limit of %d", len(zr.File), s.Limits.zipMembers()))
		return nil
	}
	for _, m := range zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if m.FileInfo().IsDir() {
			continue
		}
		path := f.Path + "!" + m.Name
		if m.UncompressedSize64 > uint64(s.Limits.docBytes()) {
			s.Report(ctx, name, path, fmt.Errorf("member of %d bytes exceeds the limit of %d", m.UncompressedSize64, s.Limits.docBytes()))
			continue
		}
		rc, err := m.Open()
		if err != nil {
			s.Report(ctx, name, path, err)
			continue
		}
		data, comp, err := decompress(rc, s.Limits.docBytes())
		rc.Close()
		if err != nil {
			s.Report(ctx, name, path, fmt.Errorf("corrupt zip member (bad CRC or deflate data): %w", err))
			continue
		}
		if isZip(data) {
			s.Report(ctx, name, path, errors.New("zip inside a zip is not read"))
			continue
		}
		doc := Doc{Path: path, Compression: comp, Kind: Sniff(data), Data: data, ModTime: f.ModTime, Digest: Digest(data)}
		if err := fn(doc); err != nil {
			return err
		}
	}
	return nil
}

func isZip(b []byte) bool { return len(b) >= 4 && string(b[:4]) == "PK\x03\x04" }

// Compression magic numbers.
var (
	magicGzip  = []byte{0x1f, 0x8b}
	magicBzip2 = []byte("BZh")
	magicXZ    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
)

// Decompress reads r whole, undoing one layer of gzip, bzip2 or xz when
// the magic bytes say so, and refuses more than max bytes of output. It
// returns the data and the compression found ("" for none). A truncated or
// corrupt stream is an error: never half a document.
func Decompress(r io.Reader, max int64) ([]byte, string, error) { return decompress(r, max) }

func decompress(r io.Reader, max int64) ([]byte, string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(6)
	var (
		zr   io.Reader
		comp string
	)
	switch {
	case bytes.HasPrefix(head, magicGzip):
		g, err := gzip.NewReader(br)
		if err != nil {
			return nil, "gzip", fmt.Errorf("gzip: %w", err)
		}
		defer g.Close()
		zr, comp = g, "gzip"
	case bytes.HasPrefix(head, magicBzip2):
		zr, comp = bzip2.NewReader(br), "bzip2"
	case bytes.HasPrefix(head, magicXZ):
		x, err := xz.NewReader(br)
		if err != nil {
			return nil, "xz", fmt.Errorf("xz: %w", err)
		}
		zr, comp = x, "xz"
	default:
		zr = br
	}
	data, err := io.ReadAll(io.LimitReader(zr, max+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) && comp != "" {
			err = fmt.Errorf("%w (truncated %s stream: an interrupted download?)", err, comp)
		}
		if comp != "" {
			return nil, comp, fmt.Errorf("%s: %w", comp, err)
		}
		return nil, comp, err
	}
	if int64(len(data)) > max {
		return nil, comp, fmt.Errorf("document exceeds the limit of %d bytes (raise it if the source really is that large)", max)
	}
	return data, comp, nil
}

// Sniff tells JSON, XML and text apart by the first significant byte.
func Sniff(b []byte) Kind {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return KindJSON
		case '<':
			return KindXML
		default:
			return KindText
		}
	}
	return KindText
}

var (
	reDate     = regexp.MustCompile(`(\d{4})-(\d{2})-(\d{2})`)
	reCompDate = regexp.MustCompile(`(?:^|[^0-9])(\d{4})(\d{2})(\d{2})(?:[^0-9]|$)`)
)

// SnapshotTime is the date a snapshot file carries in its name
// (epss_scores-2025-02-20.csv.gz, kev-20250825.json), else its
// modification time.
func SnapshotTime(rel string, mod time.Time) time.Time {
	base := filepath.Base(rel)
	for _, re := range []*regexp.Regexp{reDate, reCompDate} {
		if m := re.FindStringSubmatch(base); m != nil {
			if t, err := time.Parse("2006-01-02", m[1]+"-"+m[2]+"-"+m[3]); err == nil {
				return t
			}
		}
	}
	return mod
}

// Newest keeps, for each key, the file with the newest SnapshotTime (ties:
// the later path). Use it when a mirror holds several snapshots of the same
// document, e.g. key = name without date and compression suffixes.
func Newest(files []File, key func(File) string) []File {
	best := map[string]File{}
	var order []string
	for _, f := range files {
		k := key(f)
		cur, ok := best[k]
		if !ok {
			order = append(order, k)
			best[k] = f
			continue
		}
		ft, ct := SnapshotTime(f.Rel, f.ModTime), SnapshotTime(cur.Rel, cur.ModTime)
		if ft.After(ct) || (ft.Equal(ct) && f.Rel > cur.Rel) {
			best[k] = f
		}
	}
	out := make([]File, 0, len(order))
	for _, k := range order {
		out = append(out, best[k])
	}
	return out
}

// ByNewest sorts files newest snapshot first, so that a connector can fall
// back to the next snapshot when the newest is broken.
func ByNewest(files []File) {
	sort.SliceStable(files, func(i, j int) bool {
		ti, tj := SnapshotTime(files[i].Rel, files[i].ModTime), SnapshotTime(files[j].Rel, files[j].ModTime)
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return files[i].Rel > files[j].Rel
	})
}

// StripCompression removes .gz, .bz2, .xz, .zip from a name.
func StripCompression(name string) string {
	for _, ext := range []string{".gz", ".bz2", ".xz", ".zip"} {
		name = strings.TrimSuffix(name, ext)
	}
	return name
}
