package scan

import (
	"context"
	"time"

	"github.com/stella-scan/stella/internal/analyze"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom"
	"github.com/stella-scan/stella/internal/vulndb"
)

// Result is one scan (DESIGN.md section 3): target, image with its layers'
// cache status and timing, SBOM, findings, the policy decision and the
// provenance. The type lives in package report, which renders it and
// documents its JSON (api/schema/result.json); scan builds it.
type Result = report.Result

// imageInfo copies the image and per-layer costs into the result.
func imageInfo(doc *sbom.Document, st *Stats) *report.Image {
	if doc.Image == nil {
		return nil
	}
	im := &report.Image{Name: doc.Image.Name, Digest: doc.Image.Digest, ConfigID: doc.Image.ConfigID, Platform: doc.Image.Platform, Layers: []report.Layer{}}
	if st != nil {
		im.Cached = st.ImageCache
	}
	byIndex := map[int]LayerStats{}
	if st != nil {
		for _, l := range st.Layers {
			byIndex[l.Index] = l
		}
	}
	for _, l := range doc.Image.Layers {
		ls := byIndex[l.Index]
		cache := ls.Cache
		if cache == "" {
			cache = "miss"
		}
		im.Layers = append(im.Layers, report.Layer{
			Index: l.Index, DiffID: l.DiffID, Digest: l.Digest, Size: l.Size, CreatedBy: l.CreatedBy,
			Cache: cache, Bytes: ls.Bytes, Downloaded: ls.Downloaded, DurationMS: ms(ls.Duration), Files: ls.Files,
		})
	}
	return im
}

// dbInfo describes the DB and its freshness at scan time.
func dbInfo(ctx context.Context, db *vulndb.DB, now time.Time) (report.DB, error) {
	s, err := db.Status(ctx)
	if err != nil {
		return report.DB{}, err
	}
	out := report.DB{Path: s.Path, SchemaVersion: s.SchemaVersion, BuiltAt: s.BuiltAt, Advisories: s.Advisories, Sources: []report.DBSource{}}
	if !s.BuiltAt.IsZero() {
		out.AgeHours = now.Sub(s.BuiltAt).Hours()
	}
	for _, src := range s.Sources {
		out.Sources = append(out.Sources, report.DBSource{Name: src.Source, LastSync: src.LastSync, LastModified: src.LastModified, Records: src.Records})
	}
	return out, nil
}

func analyzerInfo(as []analyze.Analyzer) []report.Analyzer {
	out := []report.Analyzer{}
	for _, a := range as {
		out = append(out, report.Analyzer{Name: a.Name(), Version: a.Version()})
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
