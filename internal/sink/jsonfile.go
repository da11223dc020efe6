package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// JSONFile writes each result to DIR/SCANID.json, indented, atomically
// (temp file, fsync, rename): a reader never sees half a result, and a
// redelivery replaces the same file. One file per result rather than JSON
// lines because a file per scan is replaced atomically and idempotently,
// and a collector (Filebeat, Fluent Bit, a cron job) picks up whole files.
// Rotation removes the oldest files (by modification time) beyond `keep`
// files or beyond `max-bytes` in total; the newest file always stays.
type JSONFile struct {
	dir      string
	keep     int
	maxBytes int64
	mu       sync.Mutex
}

// safeID is what a scan id may be to become a file name.
var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func newJSONFile(opts map[string]string) (*JSONFile, error) {
	if opts["dir"] == "" {
		return nil, fmt.Errorf("dir=DIR is required")
	}
	keep := 10000
	if k := opts["keep"]; k != "" {
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("keep=%q: want a positive number", k)
		}
		keep = n
	}
	var maxBytes int64 = 1 << 30
	if m := opts["max-bytes"]; m != "" {
		n, err := parseSize(m)
		if err != nil {
			return nil, fmt.Errorf("max-bytes=%q: %w", m, err)
		}
		maxBytes = n
	}
	return NewJSONFile(opts["dir"], keep, maxBytes)
}

// parseSize reads "1048576", "512K", "100M" or "2G" (powers of 1024).
func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a positive size such as 500M")
	}
	return n * mult, nil
}

// NewJSONFile is a JSON file sink writing into dir that keeps at most
// keep files and maxBytes bytes (0: no bound).
func NewJSONFile(dir string, keep int, maxBytes int64) (*JSONFile, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dir %s: %w", dir, err)
	}
	return &JSONFile{dir: dir, keep: keep, maxBytes: maxBytes}, nil
}

func (j *JSONFile) Name() string { return "json" }

func (j *JSONFile) Deliver(_ context.Context, d Delivery) error {
	if !safeID.MatchString(d.ScanID) {
		return Permanent(fmt.Errorf("scan id %q cannot be a file name", d.ScanID))
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return Permanent(err)
	}
	name := d.ScanID + ".json"
	if err := writeAtomic(filepath.Join(j.dir, name), append(b, '\n')); err != nil {
		return fmt.Errorf("json sink %s: %w", j.dir, err)
	}
	return j.rotate(name)
}

// rotate removes the oldest result files beyond keep files or maxBytes,
// never newest (the file just written).
func (j *JSONFile) rotate(newest string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	es, err := os.ReadDir(j.dir)
	if err != nil {
		return fmt.Errorf("json sink %s: %w", j.dir, err)
	}
	type file struct {
		name string
		mod  int64
		size int64
	}
	var fs []file
	var total int64
	for _, e := range es {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := e.Info(); err == nil {
			fs = append(fs, file{e.Name(), info.ModTime().UnixNano(), info.Size()})
			total += info.Size()
		}
	}
	sort.Slice(fs, func(a, b int) bool {
		if fs[a].mod != fs[b].mod {
			return fs[a].mod < fs[b].mod
		}
		return fs[a].name < fs[b].name
	})
	n := len(fs)
	for _, f := range fs {
		over := n > j.keep || (j.maxBytes > 0 && total > j.maxBytes)
		if !over {
			break
		}
		if f.name == newest {
			continue
		}
		if err := os.Remove(filepath.Join(j.dir, f.name)); err == nil {
			n--
			total -= f.size
		}
	}
	return nil
}

// writeAtomic writes b to path through a synced temp file and a rename
// (mode 0600: results name vulnerable images).
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	// The rename itself reaches the disk with the directory.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}
