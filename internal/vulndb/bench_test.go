package vulndb

// Ingest benchmarks for `make bench`:
//
//	go test ./internal/vulndb -run '^$' -bench Ingest -benchtime 1x
//	STELLA_BENCH_N=100000 go test ./internal/vulndb -run '^$' -bench Ingest -benchtime 1x
//
// The local feeds are small (55 NVD cve objects, ~95 OSV records), so each
// benchmark first writes a mirror of STELLA_BENCH_N records (default 20,000)
// made of those real records repeated under fresh ids (CVE-2099-…,
// GHSA-bnch-…): real shapes and sizes, new keys. NVD is written as API 2.0
// pages of 2,000, OSV as an all.zip per ecosystem, the way the services
// publish them. The timed part is a full `db sync` of that mirror: read,
// parse, insert, link, atomic swap. Reported: records/s, MB/s of input
// (b.SetBytes), DB bytes per 10k advisories, and the estimated time for
// the full NVD (320,000 CVEs) at the measured rate.

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/testutil"
)

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("STELLA_BENCH_N")); err == nil && n > 0 {
		return n
	}
	return 20000
}

// realNVD returns every real cve object of the feeds (records/ and pages).
func realNVD(b *testing.B) []map[string]any {
	feeds := testutil.FeedsDir(b)
	var out []map[string]any
	seen := map[string]bool{}
	add := func(m map[string]any) {
		if id, _ := m["id"].(string); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, m)
		}
	}
	files, _ := filepath.Glob(filepath.Join(feeds, "nvd", "records", "*.json"))
	for _, f := range files {
		var m map[string]any
		if data, err := os.ReadFile(f); err == nil && json.Unmarshal(data, &m) == nil {
			add(m)
		}
	}
	var page struct {
		Vulnerabilities []struct {
			CVE map[string]any `json:"cve"`
		} `json:"vulnerabilities"`
	}
	data, _ := os.ReadFile(filepath.Join(feeds, "nvd", "api-pages", "vunnel-fixture-full-page.json"))
	if json.Unmarshal(data, &page) == nil {
		for _, v := range page.Vulnerabilities {
			add(v.CVE)
		}
	}
	if len(out) == 0 {
		b.Fatal("no NVD records")
	}
	return out
}

func writeNVDMirror(b *testing.B, dir string, n int) int64 {
	recs := realNVD(b)
	os.MkdirAll(filepath.Join(dir, "nvd"), 0o755)
	var total int64
	for start := 0; start < n; start += 2000 {
		var vulns []map[string]any
		for i := start; i < n && i < start+2000; i++ {
			m := map[string]any{}
			for k, v := range recs[i%len(recs)] {
				m[k] = v
			}
			m["id"] = fmt.Sprintf("CVE-2099-%07d", i)
			vulns = append(vulns, map[string]any{"cve": m})
		}
		page := map[string]any{"resultsPerPage": len(vulns), "startIndex": start, "totalResults": n,
			"format": "NVD_CVE", "version": "2.0", "timestamp": "2026-11-28T15:30:00.000", "vulnerabilities": vulns}
		data, _ := json.Marshal(page)
		total += int64(len(data))
		if err := os.WriteFile(filepath.Join(dir, "nvd", fmt.Sprintf("page-%07d.json", start)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return total
}

func writeOSVMirror(b *testing.B, dir string, n int) int64 {
	feeds := testutil.FeedsDir(b)
	var recs []map[string]any
	for _, g := range []string{"npm/*.json", "Go/*.json", "Maven/*.json", "PyPI/*.json"} {
		files, _ := filepath.Glob(filepath.Join(feeds, "osv", g))
		for _, f := range files {
			var m map[string]any
			if data, err := os.ReadFile(f); err == nil && json.Unmarshal(data, &m) == nil {
				recs = append(recs, m)
			}
		}
	}
	os.MkdirAll(filepath.Join(dir, "osv"), 0o755)
	f, err := os.Create(filepath.Join(dir, "osv", "all.zip"))
	if err != nil {
		b.Fatal(err)
	}
	zw := zip.NewWriter(f)
	var total int64
	for i := 0; i < n; i++ {
		m := map[string]any{}
		for k, v := range recs[i%len(recs)] {
			m[k] = v
		}
		id := fmt.Sprintf("GHSA-bnch-%04d-%04d", i/10000, i%10000)
		m["id"] = id
		m["aliases"] = []string{fmt.Sprintf("CVE-2098-%07d", i)}
		data, _ := json.Marshal(m)
		total += int64(len(data))
		w, _ := zw.Create(id + ".json")
		w.Write(data)
	}
	zw.Close()
	f.Close()
	return total
}

func benchIngest(b *testing.B, source string, write func(*testing.B, string, int) int64) {
	n := benchN()
	mirror := b.TempDir()
	bytes := write(b, mirror, n)
	b.SetBytes(bytes)
	b.ResetTimer()
	var elapsed, cpu time.Duration
	var size int64
	var advisories int
	for i := 0; i < b.N; i++ {
		path := filepath.Join(b.TempDir(), "stella.db")
		start := time.Now()
		cpu0 := cpuTime()
		_, err := Sync(context.Background(), SyncOptions{Path: path, Connectors: connectors(b, source), Source: feed.Source{Mirror: mirror}, Full: true})
		elapsed += time.Since(start)
		cpu += cpuTime() - cpu0
		if err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(path)
		size = st.Size()
		db, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		s, _ := db.Status(context.Background())
		advisories = s.Advisories
		db.Close()
	}
	rate := float64(n*b.N) / elapsed.Seconds()
	cpuRate := float64(n*b.N) / cpu.Seconds()
	b.ReportMetric(rate, "records/s")
	// CPU time (user+sys of the whole process) is what "one core" means
	// on a shared machine, where wall time depends on the neighbours.
	b.ReportMetric(cpuRate, "records/cpu-s")
	b.ReportMetric(float64(bytes*int64(b.N))/cpu.Seconds()/1e6, "MB/cpu-s")
	b.ReportMetric(float64(size)/float64(advisories)*10000/1e6, "MB/10k-advisories")
	if source == "nvd" {
		b.ReportMetric(320000/cpuRate, "cpu-s/full-NVD-est")
	}
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkIngestNVD(b *testing.B) { benchIngest(b, "nvd", writeNVDMirror) }

func BenchmarkIngestOSV(b *testing.B) { benchIngest(b, "osv", writeOSVMirror) }
