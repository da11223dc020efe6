package rpm

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	"github.com/stella-scan/stella/internal/sbom"
)

// maxFiles bounds the file entries of one database (a full Fedora
// workstation has about 300,000).
const maxFiles = 3_000_000

// Format is an rpm database format.
type Format int

// The formats, told apart by content rather than by file name.
const (
	Unknown    Format = iota
	BerkeleyDB        // var/lib/rpm/Packages
	SQLite            // rpmdb.sqlite
	NDB               // Packages.db
)

func (f Format) String() string {
	switch f {
	case BerkeleyDB:
		return "berkeley db"
	case SQLite:
		return "sqlite"
	case NDB:
		return "ndb"
	}
	return "unknown"
}

// Detect tells the format of an rpm database from its first bytes.
func Detect(data []byte) Format {
	switch {
	case bytes.HasPrefix(data, sqliteMagic):
		return SQLite
	case len(data) >= 4 && binary.LittleEndian.Uint32(data) == ndbHeaderMagic:
		return NDB
	case len(data) >= 16 && (binary.LittleEndian.Uint32(data[12:]) == bdbHashMagic || binary.BigEndian.Uint32(data[12:]) == bdbHashMagic):
		return BerkeleyDB
	}
	return Unknown
}

// ParseDatabase reads an rpm database of any of the three formats and
// returns its packages (gpg-pubkey headers left out), each with its file
// list.
func ParseDatabase(ctx context.Context, data []byte) ([]sbom.Package, error) {
	var (
		blobs [][]byte
		err   error
	)
	switch f := Detect(data); f {
	case BerkeleyDB:
		blobs, err = bdbValues(data)
	case NDB:
		blobs, err = ndbValues(data)
	case SQLite:
		blobs, err = sqliteValues(ctx, data)
	default:
		return nil, fmt.Errorf("not an rpm database (no Berkeley DB, SQLite or ndb signature)")
	}
	if err != nil {
		return nil, err
	}
	return ParseHeaders(blobs)
}

// ParseHeaders turns header blobs into packages.
func ParseHeaders(blobs [][]byte) ([]sbom.Package, error) {
	var pkgs []sbom.Package
	files := maxFiles
	for i, b := range blobs {
		h, err := parseHeader(b)
		if err != nil {
			return nil, fmt.Errorf("header %d: %w", i, err)
		}
		p, ok, err := h.toPackage(files)
		if err != nil {
			return nil, fmt.Errorf("header %d: %w", i, err)
		}
		if !ok {
			continue
		}
		files -= len(p.Files)
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
