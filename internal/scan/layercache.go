package scan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/cache"
	"github.com/stella-scan/stella/internal/layer"
	"github.com/stella-scan/stella/internal/sbom"
)

// cacheFormat changes when the encoding of cached values changes.
const cacheFormat = "v1"

// Keys name their inputs: the layer's diffID, and for analyzer entries the
// analyzer's name and version, so a new version of one analyzer misses
// exactly the entries it produced.
func walkKey(diffID string) string { return "layer/" + cacheFormat + "/" + diffID + "/walk" }
func analyzerKey(diffID string, a analyze.Analyzer) string {
	return fmt.Sprintf("layer/%s/%s/a/%s/%d", cacheFormat, diffID, a.Name(), a.Version())
}

// analyzerSetID names a set of analyzers and their versions.
func analyzerSetID(as []analyze.Analyzer) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("%s@%d", a.Name(), a.Version())
	}
	sort.Strings(parts)
	h := sha256.Sum256([]byte(strings.Join(parts, ",")))
	return hex.EncodeToString(h[:8])
}

func imageKey(digest string, as []analyze.Analyzer) string {
	return "image/" + cacheFormat + "/" + digest + "/" + analyzerSetID(as)
}

// walkPart is what a layer's walk records apart from analyzer output.
type walkPart struct {
	Written   map[string]struct{}
	Whiteouts map[string]struct{}
	Opaques   map[string]struct{}
	Symlinks  map[string]string
	Warnings  []string
	Bytes     int64
}

func encodeGob(v any) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

func decodeGob(b []byte, v any) error { return gob.NewDecoder(bytes.NewReader(b)).Decode(v) }

// fromCache returns the cached walk of a layer and the analyzers whose
// entries are missing. A corrupt entry counts as missing.
func fromCache(ctx context.Context, c cache.Store, diffID string, as []analyze.Analyzer) (*layer.Result, []analyze.Analyzer) {
	if c == nil || diffID == "" {
		return nil, as
	}
	b, ok, err := c.Get(ctx, walkKey(diffID))
	if err != nil || !ok {
		return nil, as
	}
	var w walkPart
	if err := decodeGob(b, &w); err != nil {
		slog.Warn("corrupt layer cache entry, re-analysing", "layer", diffID, "err", err)
		return nil, as
	}
	r := &layer.Result{
		DiffID: diffID, Written: w.Written, Whiteouts: w.Whiteouts, Opaques: w.Opaques,
		Symlinks: w.Symlinks, Warnings: w.Warnings, Bytes: w.Bytes,
		Found: map[string]map[string]*layer.FileResult{}, Analyzers: map[string]int{},
	}
	for _, m := range []*map[string]struct{}{&r.Written, &r.Whiteouts, &r.Opaques} {
		if *m == nil {
			*m = map[string]struct{}{}
		}
	}
	if r.Symlinks == nil {
		r.Symlinks = map[string]string{}
	}
	var missing []analyze.Analyzer
	for _, a := range as {
		b, ok, err := c.Get(ctx, analyzerKey(diffID, a))
		found := map[string]*layer.FileResult{}
		if err == nil && ok && decodeGob(b, &found) == nil {
			r.Found[a.Name()] = found
			r.Analyzers[a.Name()] = a.Version()
			continue
		}
		missing = append(missing, a)
	}
	return r, missing
}

// toCache stores a layer's walk and the entries of the analyzers that ran.
func toCache(ctx context.Context, c cache.Store, r *layer.Result, ran []analyze.Analyzer) {
	if c == nil || r.DiffID == "" {
		return
	}
	put := func(key string, v any) {
		b, err := encodeGob(v)
		if err == nil {
			err = c.Put(ctx, key, b)
		}
		if err != nil {
			slog.Warn("layer cache write failed", "key", key, "err", err)
		}
	}
	put(walkKey(r.DiffID), walkPart{Written: r.Written, Whiteouts: r.Whiteouts, Opaques: r.Opaques, Symlinks: r.Symlinks, Warnings: r.Warnings, Bytes: r.Bytes})
	for _, a := range ran {
		found := r.Found[a.Name()]
		if found == nil {
			found = map[string]*layer.FileResult{}
		}
		put(analyzerKey(r.DiffID, a), found)
	}
}

// combine adds freshly walked analyzer output to a cached walk.
func combine(cached, fresh *layer.Result) *layer.Result {
	if cached == nil {
		return fresh
	}
	for name, found := range fresh.Found {
		cached.Found[name] = found
		cached.Analyzers[name] = fresh.Analyzers[name]
	}
	cached.Index, cached.Duration = fresh.Index, fresh.Duration
	cached.BuildFiles()
	return cached
}

func imageFromCache(ctx context.Context, c cache.Store, digest string, as []analyze.Analyzer) *sbom.Document {
	if c == nil || digest == "" {
		return nil
	}
	b, ok, err := c.Get(ctx, imageKey(digest, as))
	if err != nil || !ok {
		return nil
	}
	var doc sbom.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil
	}
	return &doc
}

func imageToCache(ctx context.Context, c cache.Store, digest string, as []analyze.Analyzer, doc *sbom.Document) {
	if c == nil || digest == "" {
		return
	}
	b, err := json.Marshal(doc)
	if err == nil {
		err = c.Put(ctx, imageKey(digest, as), b)
	}
	if err != nil {
		slog.Warn("image cache write failed", "image", digest, "err", err)
	}
}
