package rpm

import (
	"encoding/binary"
	"fmt"
)

// Berkeley DB hash database layout (libdb's dbinc/db_page.h), as rpm's
// Packages file up to rpm 4.15 (RHEL ≤ 8, CentOS, Amazon Linux 2) uses it.
const (
	bdbHashMagic     = 0x061561
	bdbMetaType      = 8  // P_HASHMETA
	bdbHashUnsorted  = 2  // P_HASH_UNSORTED (pre-4.6)
	bdbHash          = 13 // P_HASH
	bdbOverflow      = 7  // P_OVERFLOW
	bdbOffPage       = 3  // H_OFFPAGE item
	bdbPageHeader    = 26
	bdbOffPageLength = 12
)

// bdbValues returns the values of a Berkeley DB hash database that are
// stored on overflow pages: in rpm's Packages these are the header blobs
// (the one small in-page value is rpm's instance counter under key 0).
// The database may be little- or big-endian; every page number, offset
// and length is checked against the file, and each overflow chain visits
// at most as many pages as the file has.
func bdbValues(data []byte) ([][]byte, error) {
	if len(data) < 512 {
		return nil, fmt.Errorf("berkeley db: %d bytes is too short for a metadata page", len(data))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.LittleEndian.Uint32(data[12:]) != bdbHashMagic {
		if binary.BigEndian.Uint32(data[12:]) != bdbHashMagic {
			return nil, fmt.Errorf("berkeley db: not a hash database (magic %#x)", binary.LittleEndian.Uint32(data[12:]))
		}
		bo = binary.BigEndian
	}
	pageSize := bo.Uint32(data[20:])
	if data[24] != 0 {
		return nil, fmt.Errorf("berkeley db: encrypted database (algorithm %d) is not supported", data[24])
	}
	if data[25] != bdbMetaType {
		return nil, fmt.Errorf("berkeley db: first page has type %d, want hash metadata", data[25])
	}
	switch pageSize {
	case 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536:
	default:
		return nil, fmt.Errorf("berkeley db: page size %d is not valid", pageSize)
	}
	ps := int(pageSize)
	pages := len(data) / ps
	if last := int64(bo.Uint32(data[32:])); last+1 < int64(pages) {
		pages = int(last + 1)
	}
	page := func(n uint32) ([]byte, bool) {
		if int64(n) >= int64(pages) {
			return nil, false
		}
		return data[int(n)*ps : (int(n)+1)*ps], true
	}
	var values [][]byte
	for n := 1; n < pages; n++ {
		pg, _ := page(uint32(n))
		if t := pg[25]; t != bdbHash && t != bdbHashUnsorted {
			continue
		}
		entries := int(bo.Uint16(pg[20:]))
		if bdbPageHeader+entries*2 > ps {
			return nil, fmt.Errorf("berkeley db: page %d claims %d entries", n, entries)
		}
		// Entries alternate key, value; only values are read.
		for i := 1; i < entries; i += 2 {
			off := int(bo.Uint16(pg[bdbPageHeader+i*2:]))
			if off+bdbOffPageLength > ps || pg[off] != bdbOffPage {
				continue
			}
			v, err := bdbOverflowValue(pg[off:off+bdbOffPageLength], bo, page, pages, len(data))
			if err != nil {
				return nil, fmt.Errorf("berkeley db: page %d entry %d: %w", n, i, err)
			}
			values = append(values, v)
		}
	}
	return values, nil
}

// bdbOverflowValue follows the overflow chain an H_OFFPAGE item points to.
func bdbOverflowValue(item []byte, bo binary.ByteOrder, page func(uint32) ([]byte, bool), pages, fileSize int) ([]byte, error) {
	pgno := bo.Uint32(item[4:])
	total := bo.Uint32(item[8:])
	if int64(total) > int64(fileSize) {
		return nil, fmt.Errorf("value of %d bytes is larger than the file", total)
	}
	out := make([]byte, 0, total)
	for visited := 0; pgno != 0; visited++ {
		if visited >= pages {
			return nil, fmt.Errorf("overflow chain loops")
		}
		pg, ok := page(pgno)
		if !ok {
			return nil, fmt.Errorf("overflow page %d is past the end of the file", pgno)
		}
		if pg[25] != bdbOverflow {
			return nil, fmt.Errorf("page %d has type %d, want overflow", pgno, pg[25])
		}
		// On overflow pages hf_offset holds the bytes used on the page.
		n := int(bo.Uint16(pg[22:]))
		if bdbPageHeader+n > len(pg) {
			return nil, fmt.Errorf("overflow page %d claims %d bytes", pgno, n)
		}
		if len(out)+n > int(total) {
			return nil, fmt.Errorf("overflow chain longer than its %d-byte value", total)
		}
		out = append(out, pg[bdbPageHeader:bdbPageHeader+n]...)
		pgno = bo.Uint32(pg[16:])
	}
	if len(out) != int(total) {
		return nil, fmt.Errorf("overflow chain holds %d of %d bytes", len(out), total)
	}
	return out, nil
}
