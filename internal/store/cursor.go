package store

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Page sizes of the list queries.
const (
	DefaultLimit = 50
	MaxLimit     = 500
	maxCursor    = 4096
)

// Limit is n bounded to 1..MaxLimit, DefaultLimit when not set.
func Limit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// EncodeCursor makes the opaque cursor of a page from its parts.
func EncodeCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "\x00")))
}

// DecodeCursor returns the n parts of a cursor a client sent back.
func DecodeCursor(c string, n int) ([]string, error) {
	if len(c) > maxCursor {
		return nil, fmt.Errorf("bad cursor: %d bytes", len(c))
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, fmt.Errorf("bad cursor %q: %w", c, err)
	}
	p := strings.Split(string(b), "\x00")
	if len(p) != n {
		return nil, fmt.Errorf("bad cursor %q", c)
	}
	return p, nil
}
