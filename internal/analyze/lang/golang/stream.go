package golang

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime/debug"
)

// buildInfoMagic starts the .go.buildinfo section of every Go binary.
var buildInfoMagic = []byte("\xff Go buildinf:")

// Bounds of the streamed scan.
const (
	scanChunk    = 256 << 10
	maxModInfo   = 4 << 20 // build info text of one binary
	maxBuffered  = 8 << 20
	buildInfoHdr = 32
)

var errOldFormat = errors.New("pre-Go 1.18 build info")

// scanBuildInfo finds Go build information in a binary as it streams
// past, without holding the file: since Go 1.18 the version and module
// text sit inline right after the section's 32-byte header. For older
// binaries (pointers into the data segment) it returns errOldFormat and,
// when the file was at most maxBuffered (8 MiB) bytes, the whole content for
// debug/buildinfo.
func scanBuildInfo(r io.Reader, size int64) (vers, mod string, whole []byte, err error) {
	keep := size > 0 && size <= maxBuffered
	var all []byte
	win := make([]byte, 0, 2*scanChunk)
	eof := false
	fill := func(n int) error { // append up to n bytes to win
		start := len(win)
		if cap(win)-start < n {
			nw := make([]byte, start, start+n+scanChunk)
			copy(nw, win)
			win = nw
		}
		m, err := io.ReadFull(r, win[start:start+n])
		win = win[:start+m]
		if keep {
			all = append(all, win[start:start+m]...)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			eof = true
			return nil
		}
		return err
	}
	oldFormat := false
	for {
		if err := fill(scanChunk); err != nil {
			return "", "", nil, err
		}
		from := 0
		for {
			i := bytes.Index(win[from:], buildInfoMagic)
			if i < 0 {
				break
			}
			i += from
			// Make sure the header and the inline strings are in the window.
			for !eof && len(win)-i < buildInfoHdr+2*binary.MaxVarintLen64 {
				if err := fill(scanChunk); err != nil {
					return "", "", nil, err
				}
			}
			v, m, need, ok, old := parseInline(win[i:])
			for need > 0 && !eof && need <= maxModInfo {
				if err := fill(need); err != nil {
					return "", "", nil, err
				}
				v, m, need, ok, old = parseInline(win[i:])
			}
			if ok {
				// Read the rest so the digest and the tar stream advance.
				if _, err := io.Copy(io.Discard, r); err != nil {
					return "", "", nil, err
				}
				return v, m, nil, nil
			}
			oldFormat = oldFormat || old
			from = i + 1
		}
		if eof {
			if oldFormat && keep {
				return "", "", all, errOldFormat
			}
			if oldFormat {
				return "", "", nil, errOldFormat
			}
			return "", "", nil, nil
		}
		// Keep the tail that could start a split magic.
		tail := len(buildInfoMagic) - 1
		if len(win) > tail {
			n := copy(win, win[len(win)-tail:])
			win = win[:n]
		}
	}
}

// parseInline decodes a build info header at b[0]. It returns ok with the
// strings, or need > 0 when more bytes are required, or old when the
// header is the pointer-based pre-1.18 format.
func parseInline(b []byte) (vers, mod string, need int, ok, old bool) {
	if len(b) < buildInfoHdr {
		return "", "", buildInfoHdr - len(b), false, false
	}
	ptrSize, flags := b[14], b[15]
	if ptrSize != 4 && ptrSize != 8 {
		return "", "", 0, false, false
	}
	if flags&2 == 0 {
		return "", "", 0, false, true
	}
	rest := b[buildInfoHdr:]
	vers, rest, n := readString(rest)
	if n > 0 {
		return "", "", n, false, false
	}
	if vers == "" && rest == nil {
		return "", "", 0, false, false
	}
	mod, _, n = readString(rest)
	if n > 0 {
		return "", "", n, false, false
	}
	if len(vers) < 3 || vers[:2] != "go" {
		return "", "", 0, false, false
	}
	// The module text is framed by 16-byte sentinels.
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	} else {
		mod = ""
	}
	return vers, mod, 0, true, false
}

// readString reads a uvarint-prefixed string; need > 0 asks for more bytes.
func readString(b []byte) (s string, rest []byte, need int) {
	l, n := binary.Uvarint(b)
	if n == 0 {
		return "", nil, binary.MaxVarintLen64
	}
	if n < 0 || l > maxModInfo {
		return "", nil, 0
	}
	if uint64(len(b)-n) < l {
		return "", nil, int(l) - (len(b) - n)
	}
	return string(b[n : n+int(l)]), b[n+int(l):], 0
}

// parseModInfo turns the inline strings into build info.
func parseModInfo(vers, mod string) (*debug.BuildInfo, error) {
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return nil, err
	}
	bi.GoVersion = vers
	return bi, nil
}
