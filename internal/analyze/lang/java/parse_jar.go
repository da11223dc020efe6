package java

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/sbom"
)

// Limits bound the work spent on one archive, nested archives included, so
// that a zip bomb or a deep nest of jars costs little.
type Limits struct {
	// MaxDepth is how many levels of archives inside the file are opened
	// (1: the jars in a war, 2: jars in those jars…).
	MaxDepth int
	// MaxNested bounds the decompressed size of one nested archive (it is
	// held in memory to be opened as a zip).
	MaxNested int64
	// MaxMeta bounds the decompressed size of one metadata file
	// (pom.properties, pom.xml, MANIFEST.MF).
	MaxMeta int64
	// MaxTotal bounds the decompressed bytes read from all inner files of
	// one top-level archive together.
	MaxTotal int64
	// MaxEntries bounds the zip entries examined in one archive.
	MaxEntries int
}

// DefaultLimits fit real archives (Spring Boot fat jars, Jenkins plug-ins,
// application-server ears) and stop bombs.
var DefaultLimits = Limits{
	MaxDepth:   4,
	MaxNested:  128 << 20,
	MaxMeta:    4 << 20,
	MaxTotal:   512 << 20,
	MaxEntries: 200_000,
}

// Evidence values in Package.Metadata["evidence"]: how sure the name and
// version are. Matching treats "manifest" and "filename" as weaker.
const (
	EvidencePom      = "pom.properties"
	EvidenceManifest = "manifest"
	EvidenceFilename = "filename"
)

// ErrLimit is wrapped by errors about a limit of Limits.
var ErrLimit = errors.New("limit exceeded")

// ParseArchive returns the Maven packages recorded in the Java archive data,
// found in the file at filePath (every package gets Paths = [filePath];
// packages of nested archives also get Metadata["virtualPath"], e.g.
// "app.war!/WEB-INF/lib/x.jar"). Problems inside nested archives do not stop
// the walk: the packages found are returned together with an error that
// lists what was skipped. A data that is not a zip archive is an error.
func ParseArchive(data []byte, filePath string, lim Limits) ([]sbom.Package, error) {
	w := &walker{lim: lim, budget: lim.MaxTotal, filePath: filePath, seen: map[string]bool{}}
	if err := w.archive(data, filePath, 0); err != nil {
		return nil, err
	}
	if w.nSkipped > len(w.skipped) {
		w.skipped = append(w.skipped, fmt.Errorf("java archive %s: %d more problems", filePath, w.nSkipped-len(w.skipped)))
	}
	return w.pkgs, errors.Join(w.skipped...)
}

type walker struct {
	lim      Limits
	budget   int64 // decompressed bytes left
	filePath string
	pkgs     []sbom.Package
	seen     map[string]bool // name, version
	skipped  []error
	nSkipped int
}

// maxSkipped bounds the errors kept for the report; the rest are counted.
const maxSkipped = 10

func (w *walker) skip(err error) {
	w.nSkipped++
	if len(w.skipped) < maxSkipped {
		w.skipped = append(w.skipped, err)
	}
}

type pomEntry struct {
	dir   string // META-INF/maven/<g>/<a>
	props *zip.File
	xml   *zip.File
}

// archive reads one archive: vpath names it ("a.war!/WEB-INF/lib/b.jar"),
// depth is 0 for the file itself.
func (w *walker) archive(data []byte, vpath string, depth int) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// Nothing is written to disk, so names with ".." do not matter.
		return fmt.Errorf("java archive %s: %w", vpath, err)
	}
	if len(zr.File) > w.lim.MaxEntries {
		return fmt.Errorf("java archive %s: %d entries: %w (%d)", vpath, len(zr.File), ErrLimit, w.lim.MaxEntries)
	}
	poms := map[string]*pomEntry{}
	var manifest *zip.File
	var nested []*zip.File
	for _, f := range zr.File {
		name := f.Name
		if strings.HasSuffix(name, "/") {
			continue
		}
		switch {
		case strings.HasPrefix(name, "META-INF/maven/"):
			dir, base := path.Split(name)
			dir = strings.TrimSuffix(dir, "/")
			if base != "pom.properties" && base != "pom.xml" {
				continue
			}
			pe := poms[dir]
			if pe == nil {
				pe = &pomEntry{dir: dir}
				poms[dir] = pe
			}
			if base == "pom.properties" {
				pe.props = f
			} else {
				pe.xml = f
			}
		case strings.EqualFold(name, "META-INF/MANIFEST.MF"):
			manifest = f
		case isArchiveName(name):
			nested = append(nested, f)
		}
	}

	dirs := make([]string, 0, len(poms))
	for d, pe := range poms {
		if pe.props != nil {
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	found := false
	for _, d := range dirs {
		pe := poms[d]
		b, err := w.read(pe.props, w.lim.MaxMeta, vpath)
		if err != nil {
			w.skip(err)
			continue
		}
		props := ParsePomProperties(b)
		g, a, v := props["groupId"], props["artifactId"], props["version"]
		if g == "" || a == "" {
			// The directory names them: META-INF/maven/<g>/<a>.
			if parts := strings.Split(d, "/"); len(parts) == 4 {
				if g == "" {
					g = parts[2]
				}
				if a == "" {
					a = parts[3]
				}
			}
		}
		if g == "" || a == "" || v == "" {
			continue
		}
		found = true
		var lic []string
		if pe.xml != nil {
			if xb, err := w.read(pe.xml, w.lim.MaxMeta, vpath); err == nil {
				lic = PomLicenses(xb)
			} else {
				w.skip(err)
			}
		}
		w.add(g+":"+a, v, vpath, depth, EvidencePom, lic, map[string]string{"pomProperties": pe.props.Name})
	}

	if !found {
		w.fallback(manifest, vpath, depth)
	}

	for _, f := range nested {
		inner := vpath + "!/" + f.Name
		if depth+1 > w.lim.MaxDepth {
			w.skip(fmt.Errorf("java archive %s: nested deeper than %d: %w", inner, w.lim.MaxDepth, ErrLimit))
			continue
		}
		b, err := w.read(f, w.lim.MaxNested, vpath)
		if err != nil {
			w.skip(err)
			if errors.Is(err, ErrLimit) && w.budget <= 0 {
				return nil
			}
			continue
		}
		if err := w.archive(b, inner, depth+1); err != nil {
			w.skip(err)
		}
	}
	return nil
}

// fallback names an archive without pom.properties from its manifest, or
// else from its file name.
func (w *walker) fallback(manifest *zip.File, vpath string, depth int) {
	base := vpath
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[i+1:]
	}
	fileArtifact, fileVersion := SplitFileName(base)
	if manifest != nil {
		b, err := w.read(manifest, w.lim.MaxMeta, vpath)
		if err != nil {
			w.skip(err)
		} else {
			m := ParseManifest(b)
			if name, version := manifestCoordinates(m, fileArtifact); name != "" && version != "" {
				md := map[string]string{}
				for _, k := range []string{"Implementation-Title", "Implementation-Vendor-Id", "Bundle-SymbolicName"} {
					if v := m[k]; v != "" {
						md["manifest."+k] = v
					}
				}
				var lic []string
				if l := m["Bundle-License"]; l != "" {
					lic = licenseList(l)
				}
				w.add(name, version, vpath, depth, EvidenceManifest, lic, md)
				return
			}
		}
	}
	if fileArtifact != "" && fileVersion != "" {
		w.add(fileArtifact, fileVersion, vpath, depth, EvidenceFilename, nil, nil)
	}
}

// manifestCoordinates picks a name and version from a manifest's main
// section. The artifact is the file name's when it has one (Maven names
// jars <artifactId>-<version>.jar), else the bundle symbolic name or the
// implementation title; Implementation-Vendor-Id, when present, is the
// Maven groupId (the Maven archiver writes it so).
func manifestCoordinates(m map[string]string, fileArtifact string) (name, version string) {
	version = m["Implementation-Version"]
	if version == "" {
		version = m["Bundle-Version"]
	}
	artifact := fileArtifact
	if artifact == "" {
		artifact = m["Bundle-SymbolicName"]
		if i := strings.IndexByte(artifact, ';'); i >= 0 {
			artifact = artifact[:i]
		}
		artifact = strings.TrimSpace(artifact)
	}
	if artifact == "" {
		artifact = m["Implementation-Title"]
	}
	if artifact == "" || strings.ContainsAny(artifact, " \t") {
		return "", ""
	}
	if g := m["Implementation-Vendor-Id"]; g != "" && !strings.ContainsAny(g, " \t:") {
		return g + ":" + artifact, version
	}
	return artifact, version
}

func (w *walker) add(name, version, vpath string, depth int, evidence string, lic []string, md map[string]string) {
	// One package per name and version in one file: a plug-in's own jar
	// repeats the pom.properties of the .hpi around it.
	k := name + "\x00" + version
	if w.seen[k] {
		return
	}
	w.seen[k] = true
	if md == nil {
		md = map[string]string{}
	}
	md["evidence"] = evidence
	if depth > 0 {
		md["virtualPath"] = vpath
	}
	p := sbom.Package{
		Name:      name,
		Version:   version,
		Ecosystem: sbom.Maven,
		Licenses:  lic,
		Paths:     []string{w.filePath},
		Metadata:  md,
	}
	p.PURL = sbom.PURL(&p)
	w.pkgs = append(w.pkgs, p)
}

// read decompresses one entry, at most max bytes and at most what is left
// of the total budget. The declared size is checked first but not trusted.
func (w *walker) read(f *zip.File, max int64, vpath string) ([]byte, error) {
	where := vpath + "!/" + f.Name
	limit := max
	if w.budget < limit {
		limit = w.budget
	}
	if limit <= 0 {
		return nil, fmt.Errorf("java archive %s: total decompressed size above %d: %w", where, w.lim.MaxTotal, ErrLimit)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("java archive %s: declared size %d above %d: %w", where, f.UncompressedSize64, limit, ErrLimit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("java archive %s: %w", where, err)
	}
	defer rc.Close()
	// The declared size is a hint only: preallocate at most 1 MiB of it.
	buf := bytes.NewBuffer(make([]byte, 0, int(min(f.UncompressedSize64, 1<<20))))
	n, err := io.Copy(buf, io.LimitReader(rc, limit+1))
	w.budget -= n
	if err != nil {
		return nil, fmt.Errorf("java archive %s: %w", where, err)
	}
	if n > limit {
		return nil, fmt.Errorf("java archive %s: decompressed size above %d: %w", where, limit, ErrLimit)
	}
	return buf.Bytes(), nil
}
