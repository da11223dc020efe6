package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Disk is a directory of entries, one file each, named by the SHA-256 of
// the key. Writes go to a temp file renamed into place, so several
// processes can share the directory; reads refresh the file's mtime, and
// eviction removes the least recently used files once the total passes
// MaxBytes.
type Disk struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	written int64 // bytes put since the last size check
}

// OpenDisk opens (creating) a cache directory.
func OpenDisk(dir string, o Options) (*Disk, error) {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 2 << 30
	}
	if err := os.MkdirAll(filepath.Join(dir, "entries"), 0o700); err != nil {
		return nil, fmt.Errorf("cache directory %s: %w", dir, err)
	}
	return &Disk{dir: dir, maxBytes: o.MaxBytes}, nil
}

func (d *Disk) path(key string) string {
	h := sha256.Sum256([]byte(key))
	s := hex.EncodeToString(h[:])
	return filepath.Join(d.dir, "entries", s[:2], s[2:])
}

// Get reads an entry and marks it used.
func (d *Disk) Get(_ context.Context, key string) ([]byte, bool, error) {
	if err := checkKey(key); err != nil {
		return nil, false, err
	}
	p := d.path(key)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache entry %s: %w", key, err)
	}
	// The first line of the file is the key: a hash collision, or a file
	// cut short by a crash of a non-atomic writer, is a miss.
	i := indexByte(b, '\n')
	if i < 0 || string(b[:i]) != key {
		return nil, false, nil
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
	return b[i+1:], true, nil
}

// Put writes an entry atomically.
func (d *Disk) Put(_ context.Context, key string, val []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(append([]byte(key+"\n"), val...))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cache entry %s: %w", key, err)
	}
	d.mu.Lock()
	d.written += int64(len(val))
	check := d.written > d.maxBytes/16
	if check {
		d.written = 0
	}
	d.mu.Unlock()
	if check {
		return d.evict()
	}
	return nil
}

// Delete removes an entry.
func (d *Disk) Delete(_ context.Context, key string) error {
	err := os.Remove(d.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Close does nothing: entries are files.
func (d *Disk) Close() error { return nil }

// evict removes least recently used entries until the directory is under
// 90% of MaxBytes. Another process evicting at the same time only makes
// some removals find nothing.
func (d *Disk) evict() error {
	type ent struct {
		path string
		size int64
		used time.Time
	}
	var all []ent
	var total int64
	err := filepath.WalkDir(filepath.Join(d.dir, "entries"), func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil
		}
		fi, err := de.Info()
		if err != nil {
			return nil
		}
		all = append(all, ent{p, fi.Size(), fi.ModTime()})
		total += fi.Size()
		return nil
	})
	if err != nil || total <= d.maxBytes {
		return err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= d.maxBytes*9/10 {
			break
		}
		if os.Remove(e.path) == nil {
			total -= e.size
		}
	}
	return nil
}

// Evict runs eviction now (tests and `stella cache prune`).
func (d *Disk) Evict() error { return d.evict() }

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
