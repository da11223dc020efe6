// Package cache stores analysis results so that a layer is analysed once,
// ever: per-layer results keyed by diffID and analyzer version, and whole
// image results keyed by manifest digest. Two backends implement Store:
// a size-bounded LRU directory (the default, safe with several processes)
// and Redis (TTLs, and Redis's own LRU policy when the server sets one).
package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Store is a byte-valued key store. Keys are printable ASCII without
// spaces; values are opaque.
type Store interface {
	// Get returns the value and true, or false when the key is absent.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Put stores the value; a concurrent reader sees the old value or the
	// new one, never a part.
	Put(ctx context.Context, key string, val []byte) error
	// Delete removes the key; absent keys are not an error.
	Delete(ctx context.Context, key string) error
	Close() error
}

// Options configure Open.
type Options struct {
	MaxBytes int64         // disk: evict least recently used entries above this size (default 2 GiB)
	TTL      time.Duration // redis: expiry of each entry (default 30 days; 0 keeps the default)
}

// Open opens the store a --cache value names: "" for the default
// directory, "redis://…" (or rediss://) for Redis, anything else a
// directory.
func Open(spec string, o Options) (Store, error) {
	switch {
	case strings.HasPrefix(spec, "redis://"), strings.HasPrefix(spec, "rediss://"):
		return OpenRedis(spec, o)
	case spec == "":
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		return OpenDisk(d, o)
	default:
		return OpenDisk(spec, o)
	}
}

// DefaultDir is $STELLA_CACHE, else $XDG_CACHE_HOME/stella (the user cache
// directory).
func DefaultDir() (string, error) {
	if d := os.Getenv("STELLA_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no user cache directory (set STELLA_CACHE or --cache): %w", err)
	}
	return filepath.Join(d, "stella"), nil
}

// ErrBadKey is returned for keys a backend cannot store.
var ErrBadKey = errors.New("cache: bad key")

func checkKey(k string) error {
	if k == "" || len(k) > 512 {
		return ErrBadKey
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return fmt.Errorf("%w %q", ErrBadKey, k)
		}
	}
	return nil
}
