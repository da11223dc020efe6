package rpm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/stella-scan/stella/internal/analyze/lang/license"
	"github.com/stella-scan/stella/internal/sbom"
)

// RPM header tags read here (rpm's lib/rpmtag.h).
const (
	tagName            = 1000
	tagVersion         = 1001
	tagRelease         = 1002
	tagEpoch           = 1003
	tagSize            = 1009
	tagVendor          = 1011
	tagLicense         = 1014
	tagArch            = 1022
	tagOldFilenames    = 1027
	tagSourceRPM       = 1044
	tagDirIndexes      = 1116
	tagBasenames       = 1117
	tagDirnames        = 1118
	tagModularityLabel = 5096
)

// RPM tag data types.
const (
	typeNull        = 0
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

var typeSize = [...]int{typeNull: 0, typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8, typeBin: 1}

// Bounds from rpm's own header checks (hdrchkTags, hdrchkData): at most
// 64 Ki index entries and 16 MiB of data in one header.
const (
	maxIndexEntries = 0xffff
	maxDataBytes    = 16 << 20
	entrySize       = 16
	maxLicenseText  = 1024
)

// header is one parsed RPM header blob: the index and its data store.
// Only the tags read by this package are indexed.
type header struct {
	data    []byte // the data store (dl bytes)
	entries map[int32]entry
}

type entry struct {
	typ    uint32
	offset uint32
	count  uint32
}

// parseHeader reads an RPM header blob as stored in the rpm database
// (rpm's headerImport input): big-endian il and dl, il index entries of
// 16 bytes (tag, type, offset, count), then dl bytes of data. Entries the
// package does not need are skipped; each needed entry is checked to lie
// inside the data store when it is read.
func parseHeader(b []byte) (*header, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("header blob of %d bytes is too short", len(b))
	}
	il := binary.BigEndian.Uint32(b[0:4])
	dl := binary.BigEndian.Uint32(b[4:8])
	if il == 0 || il > maxIndexEntries {
		return nil, fmt.Errorf("header has %d index entries (want 1..%d)", il, maxIndexEntries)
	}
	if dl > maxDataBytes {
		return nil, fmt.Errorf("header data of %d bytes exceeds %d", dl, maxDataBytes)
	}
	dataStart := 8 + int(il)*entrySize
	need := dataStart + int(dl)
	if len(b) < need {
		return nil, fmt.Errorf("header blob of %d bytes is shorter than its %d index entries and %d data bytes", len(b), il, dl)
	}
	h := &header{data: b[dataStart:need], entries: make(map[int32]entry, 16)}
	for i := 0; i < int(il); i++ {
		e := b[8+i*entrySize : 8+(i+1)*entrySize]
		tag := int32(binary.BigEndian.Uint32(e[0:4]))
		if !wanted(tag) {
			continue
		}
		// A later entry for the same tag (rpm's "dribble" entries after the
		// immutable region) replaces the earlier one, as in rpm.
		h.entries[tag] = entry{
			typ:    binary.BigEndian.Uint32(e[4:8]),
			offset: binary.BigEndian.Uint32(e[8:12]),
			count:  binary.BigEndian.Uint32(e[12:16]),
		}
	}
	return h, nil
}

func wanted(tag int32) bool {
	switch tag {
	case tagName, tagVersion, tagRelease, tagEpoch, tagSize, tagVendor, tagLicense, tagArch,
		tagOldFilenames, tagSourceRPM, tagDirIndexes, tagBasenames, tagDirnames, tagModularityLabel:
		return true
	}
	return false
}

// str returns a string tag ("" when absent). I18N strings give their
// first (default-locale) value.
func (h *header) str(tag int32) (string, error) {
	e, ok := h.entries[tag]
	if !ok {
		return "", nil
	}
	if e.typ != typeString && e.typ != typeI18NString && !(e.typ == typeStringArray && e.count >= 1) {
		return "", fmt.Errorf("tag %d has type %d, want a string", tag, e.typ)
	}
	s, _, err := h.cstring(e.offset)
	if err != nil {
		return "", fmt.Errorf("tag %d: %w", tag, err)
	}
	if s == "(none)" {
		s = ""
	}
	return s, nil
}

// cstring reads the NUL-terminated string at off; it returns the string
// and the offset just past its NUL.
func (h *header) cstring(off uint32) (string, uint32, error) {
	if uint64(off) >= uint64(len(h.data)) {
		return "", 0, fmt.Errorf("offset %d outside the %d-byte data store", off, len(h.data))
	}
	i := bytes.IndexByte(h.data[off:], 0)
	if i < 0 {
		return "", 0, fmt.Errorf("string at offset %d has no terminating NUL", off)
	}
	return string(h.data[off : int(off)+i]), off + uint32(i) + 1, nil
}

// strs returns a string-array tag. Every element takes at least one byte
// of the data store, so count is bounded by its size before anything is
// allocated.
func (h *header) strs(tag int32) ([]string, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	if e.typ != typeStringArray {
		return nil, fmt.Errorf("tag %d has type %d, want a string array", tag, e.typ)
	}
	if uint64(e.count) > uint64(len(h.data)) {
		return nil, fmt.Errorf("tag %d: %d strings cannot fit in %d bytes", tag, e.count, len(h.data))
	}
	out := make([]string, 0, e.count)
	off := e.offset
	for i := uint32(0); i < e.count; i++ {
		s, next, err := h.cstring(off)
		if err != nil {
			return nil, fmt.Errorf("tag %d element %d: %w", tag, i, err)
		}
		out = append(out, s)
		off = next
	}
	return out, nil
}

// ints returns an integer-array tag (int8/16/32/64) as int64s.
func (h *header) ints(tag int32) ([]int64, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, nil
	}
	if e.typ > typeInt64 || e.typ < typeChar {
		return nil, fmt.Errorf("tag %d has type %d, want an integer", tag, e.typ)
	}
	size := typeSize[e.typ]
	end := uint64(e.offset) + uint64(e.count)*uint64(size)
	if end > uint64(len(h.data)) {
		return nil, fmt.Errorf("tag %d: %d values at offset %d run past the %d-byte data store", tag, e.count, e.offset, len(h.data))
	}
	out := make([]int64, e.count)
	p := h.data[e.offset:end]
	for i := range out {
		switch size {
		case 1:
			out[i] = int64(p[i])
		case 2:
			out[i] = int64(binary.BigEndian.Uint16(p[i*2:]))
		case 4:
			out[i] = int64(int32(binary.BigEndian.Uint32(p[i*4:])))
		case 8:
			out[i] = int64(binary.BigEndian.Uint64(p[i*8:]))
		}
	}
	return out, nil
}

// toPackage turns a header into a package. It returns ok false for
// headers that are not installed software (gpg-pubkey: imported signing
// keys).
func (h *header) toPackage(maxFiles int) (p sbom.Package, ok bool, err error) {
	var name, version, release, arch, srpm, lic, vendor, modularity string
	for _, f := range []struct {
		tag int32
		dst *string
	}{
		{tagName, &name}, {tagVersion, &version}, {tagRelease, &release}, {tagArch, &arch},
		{tagSourceRPM, &srpm}, {tagLicense, &lic}, {tagVendor, &vendor}, {tagModularityLabel, &modularity},
	} {
		if *f.dst, err = h.str(f.tag); err != nil {
			return p, false, err
		}
	}
	if name == "" || version == "" {
		return p, false, fmt.Errorf("header without NAME or VERSION")
	}
	if name == "gpg-pubkey" {
		return p, false, nil
	}
	epochs, err := h.ints(tagEpoch)
	if err != nil {
		return p, false, err
	}
	var epoch int64
	if len(epochs) > 0 {
		epoch = epochs[0]
	}
	p = sbom.Package{
		Name:      name,
		Version:   evr(epoch, version, release),
		Ecosystem: sbom.RPM,
		Arch:      arch,
	}
	if srpm != "" {
		if n, v, r, ok := splitSourceRPM(srpm); ok {
			p.SourceName, p.SourceVersion = n, evr(epoch, v, r)
		}
		setMeta(&p, "sourceRpm", srpm)
	}
	if lic = strings.TrimSpace(lic); lic != "" {
		// The SPDX id or expression where recognised; otherwise rpm's own
		// text ("GPLv2+ and LGPLv2+ with exceptions"), which is long for
		// packages such as glibc, bounded here.
		n := license.Normalize(lic)
		if n == "" && len(lic) <= maxLicenseText {
			n = lic
		}
		if n != "" {
			p.Licenses = []string{n}
		}
	}
	setMeta(&p, "vendor", vendor)
	setMeta(&p, "modularityLabel", modularity)
	if sizes, err := h.ints(tagSize); err == nil && len(sizes) > 0 {
		setMeta(&p, "installedSize", strconv.FormatInt(sizes[0], 10))
	}
	if p.Files, err = h.files(maxFiles); err != nil {
		return p, false, fmt.Errorf("%s: %w", name, err)
	}
	p.PURL = sbom.PURL(&p)
	return p, true, nil
}

func setMeta(p *sbom.Package, k, v string) {
	if v == "" {
		return
	}
	if p.Metadata == nil {
		p.Metadata = map[string]string{}
	}
	p.Metadata[k] = v
}

// evr writes rpm's [EPOCH:]VERSION-RELEASE, the epoch only when non-zero.
func evr(epoch int64, version, release string) string {
	v := version
	if release != "" {
		v += "-" + release
	}
	if epoch != 0 {
		v = strconv.FormatInt(epoch, 10) + ":" + v
	}
	return v
}

// splitSourceRPM splits "glibc-2.28-151.el8.src.rpm" into glibc, 2.28,
// 151.el8. The source rpm file name carries no epoch; rpm gives the source
// the binary's.
func splitSourceRPM(s string) (name, version, release string, ok bool) {
	s = strings.TrimSuffix(s, ".rpm")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[:i] // .src, .nosrc
	}
	r := strings.LastIndexByte(s, '-')
	if r <= 0 {
		return "", "", "", false
	}
	v := strings.LastIndexByte(s[:r], '-')
	if v <= 0 {
		return "", "", "", false
	}
	return s[:v], s[v+1 : r], s[r+1:], true
}

// files joins DIRNAMES[DIRINDEXES[i]] and BASENAMES[i] (or reads the
// pre-4.x OLDFILENAMES), cleaned and relative to the root.
func (h *header) files(maxFiles int) ([]string, error) {
	base, err := h.strs(tagBasenames)
	if err != nil {
		return nil, err
	}
	if len(base) == 0 {
		old, err := h.strs(tagOldFilenames)
		if err != nil || len(old) > maxFiles {
			return nil, err
		}
		out := old[:0]
		for _, f := range old {
			if c := clean(f); c != "" {
				out = append(out, c)
			}
		}
		return out, nil
	}
	if len(base) > maxFiles {
		return nil, fmt.Errorf("%d files exceed the limit of %d", len(base), maxFiles)
	}
	dirs, err := h.strs(tagDirnames)
	if err != nil {
		return nil, err
	}
	idx, err := h.ints(tagDirIndexes)
	if err != nil {
		return nil, err
	}
	if len(idx) != len(base) {
		return nil, fmt.Errorf("%d dir indexes for %d base names", len(idx), len(base))
	}
	out := make([]string, 0, len(base))
	for i, b := range base {
		d := idx[i]
		if d < 0 || d >= int64(len(dirs)) {
			return nil, fmt.Errorf("dir index %d out of %d dir names", d, len(dirs))
		}
		if c := clean(dirs[d] + "/" + b); c != "" {
			out = append(out, c)
		}
	}
	return out, nil
}

func clean(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "." {
		return ""
	}
	return p
}
