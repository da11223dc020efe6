package rpm

import (
	"encoding/binary"
	"fmt"
)

// rpm's native "ndb" Packages.db (rpm ≥ 4.16, SUSE; lib/backend/ndb/rpmpkg.c):
// a 32-byte header ("RpmP", version, generation, number of slot pages),
// slot pages of 16-byte slots (magic "Slot", package index, block offset,
// block count) filling the rest of the first SlotNPages 4 KiB pages, and
// blobs addressed in 16-byte blocks: a 16-byte blob header ("BlbS",
// package index, checksum, length) followed by the header blob.
const (
	ndbHeaderMagic  = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic    = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbBlobMagic    = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbPageSize     = 4096
	ndbHeaderSize   = 32
	ndbSlotSize     = 16
	ndbBlockSize    = 16
	ndbMaxSlotPages = 2048
)

// ndbValues returns the header blobs of an ndb Packages.db.
func ndbValues(data []byte) ([][]byte, error) {
	if len(data) < ndbHeaderSize {
		return nil, fmt.Errorf("ndb: %d bytes is too short", len(data))
	}
	le := binary.LittleEndian
	if le.Uint32(data[0:]) != ndbHeaderMagic {
		return nil, fmt.Errorf("ndb: bad magic %#x", le.Uint32(data[0:]))
	}
	if v := le.Uint32(data[4:]); v != 0 {
		return nil, fmt.Errorf("ndb: unsupported version %d", v)
	}
	slotPages := le.Uint32(data[12:])
	if slotPages == 0 || slotPages > ndbMaxSlotPages {
		return nil, fmt.Errorf("ndb: %d slot pages (want 1..%d)", slotPages, ndbMaxSlotPages)
	}
	end := int(slotPages) * ndbPageSize
	if end > len(data) {
		return nil, fmt.Errorf("ndb: %d slot pages run past the %d-byte file", slotPages, len(data))
	}
	var values [][]byte
	for off := ndbHeaderSize; off+ndbSlotSize <= end; off += ndbSlotSize {
		s := data[off : off+ndbSlotSize]
		if le.Uint32(s[0:]) != ndbSlotMagic {
			return nil, fmt.Errorf("ndb: bad slot magic at offset %d", off)
		}
		pkgIdx := le.Uint32(s[4:])
		if pkgIdx == 0 { // free slot
			continue
		}
		blob := int64(le.Uint32(s[8:])) * ndbBlockSize
		if blob+ndbBlockSize > int64(len(data)) {
			return nil, fmt.Errorf("ndb: package %d: blob offset %d past the end of the file", pkgIdx, blob)
		}
		bh := data[blob : blob+ndbBlockSize]
		if le.Uint32(bh[0:]) != ndbBlobMagic {
			return nil, fmt.Errorf("ndb: package %d: bad blob magic", pkgIdx)
		}
		if le.Uint32(bh[4:]) != pkgIdx {
			return nil, fmt.Errorf("ndb: package %d: blob belongs to package %d", pkgIdx, le.Uint32(bh[4:]))
		}
		n := int64(le.Uint32(bh[12:]))
		start := blob + ndbBlockSize
		if start+n > int64(len(data)) {
			return nil, fmt.Errorf("ndb: package %d: %d-byte blob runs past the end of the file", pkgIdx, n)
		}
		values = append(values, data[start:start+n])
	}
	return values, nil
}
