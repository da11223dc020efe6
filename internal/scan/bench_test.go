package scan

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/cache"
)

// BenchmarkWarmSBOM: in-process warm rescans of an unchanged image (after
// one cold scan fills the cache), reported as median and P95 over the
// runs. The image is STELLA_BENCH_IMAGE (an OCI layout) or debian-app.
//
//	go test ./internal/scan -run '^$' -bench WarmSBOM -benchtime 20x
func BenchmarkWarmSBOM(b *testing.B) {
	oci := os.Getenv("STELLA_BENCH_IMAGE")
	if oci == "" {
		oci = filepath.Join(analyzetest.SharedDir(b), "testdata", "images", "debian-app", "oci")
	}
	c, err := cache.OpenDisk(b.TempDir(), cache.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, layerOnly := range []bool{false, true} {
		name := "image-cache"
		if layerOnly {
			name = "layer-cache"
		}
		b.Run(name, func(b *testing.B) {
			opts := Options{Cache: c}
			if _, _, err := SBOM(ctx, "oci:"+oci, opts); err != nil {
				b.Fatal(err)
			}
			var ds []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if layerOnly {
					// Drop the whole-image entry so every layer is answered
					// from the layer cache.
					b.StopTimer()
					doc, _, _ := SBOM(ctx, "oci:"+oci, opts)
					c.Delete(ctx, imageKey(doc.Image.Digest, analyzers(opts)))
					b.StartTimer()
				}
				t0 := time.Now()
				if _, _, err := SBOM(ctx, "oci:"+oci, opts); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
			}
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(ds[(len(ds)*95+99)/100-1].Microseconds())/1000, "ms-p95")
		})
	}
}
