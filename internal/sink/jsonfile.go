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
)

// JSONFile writes each result to DIR/SCANID.json atomically (temp file,
// fsync, rename): a redelivery replaces the same file. Rotation keeps the
// newest `keep` files.
type JSONFile struct {
	dir  string
	keep int
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
	return NewJSONFile(opts["dir"], keep)
}

// NewJSONFile is a JSON file sink writing into dir.
func NewJSONFile(dir string, keep int) (*JSONFile, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("dir %s: %w", dir, err)
	}
	return &JSONFile{dir: dir, keep: keep}, nil
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
	if err := writeAtomic(filepath.Join(j.dir, d.ScanID+".json"), b); err != nil {
		return err
	}
	return j.rotate()
}

// rotate removes the oldest result files beyond keep.
func (j *JSONFile) rotate() error {
	es, err := os.ReadDir(j.dir)
	if err != nil {
		return err
	}
	type file struct {
		name string
		mod  int64
	}
	var fs []file
	for _, e := range es {
		if !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := e.Info(); err == nil {
			fs = append(fs, file{e.Name(), info.ModTime().UnixNano()})
		}
	}
	if len(fs) <= j.keep {
		return nil
	}
	sort.Slice(fs, func(a, b int) bool {
		if fs[a].mod != fs[b].mod {
			return fs[a].mod < fs[b].mod
		}
		return fs[a].name < fs[b].name
	})
	for _, f := range fs[:len(fs)-j.keep] {
		os.Remove(filepath.Join(j.dir, f.name))
	}
	return nil
}

// writeAtomic writes b to path through a synced temp file and a rename.
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
	return nil
}
