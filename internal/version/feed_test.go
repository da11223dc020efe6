package version

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
)

// osvRecord is the part of an OSV document that range evaluation reads.
type osvRecord struct {
	ID       string `json:"id" yaml:"id"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem" yaml:"ecosystem"`
			Name      string `json:"name" yaml:"name"`
		} `json:"package" yaml:"package"`
		Ranges []struct {
			Type   string              `json:"type" yaml:"type"`
			Events []map[string]string `json:"events" yaml:"events"`
		} `json:"ranges" yaml:"ranges"`
		Versions []string `json:"versions" yaml:"versions"`
	} `json:"affected" yaml:"affected"`
}

func readOSV(t *testing.T, rel string) osvRecord {
	t.Helper()
	path := filepath.Join(analyzetest.SharedDir(t), "testdata", "feeds", "osv", rel)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec osvRecord
	if filepath.Ext(path) == ".yaml" {
		err = yaml.Unmarshal(data, &rec)
	} else {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rec
}

// affects applies the OSV evaluation to one package of a record: ECOSYSTEM
// and SEMVER ranges (GIT ranges say nothing about a released version), then
// the listed versions. When several ranges hold v (node-fetch's overlap), the
// lowest of their fixes is the one to report.
func affects(t *testing.T, rec osvRecord, pkg, v string) (affected bool, fixed string) {
	t.Helper()
	found := false
	listed := false
	for _, a := range rec.Affected {
		if a.Package.Name != pkg {
			continue
		}
		found = true
		c, err := For(a.Package.Ecosystem)
		if err != nil {
			t.Fatalf("%s: %v", rec.ID, err)
		}
		for _, r := range a.Ranges {
			if r.Type != "ECOSYSTEM" && r.Type != "SEMVER" {
				continue
			}
			var events []Event
			for _, e := range r.Events {
				events = append(events, Event{Introduced: e["introduced"], Fixed: e["fixed"], LastAffected: e["last_affected"], Limit: e["limit"]})
			}
			in, f, err := InRange(c, v, events)
			if err != nil {
				t.Fatalf("%s %s %s: %v", rec.ID, pkg, v, err)
			}
			if !in {
				continue
			}
			if !affected || f != "" && (fixed == "" || must(t)(c.Compare(f, fixed)) < 0) {
				fixed = f
			}
			affected = true
		}
		for _, lv := range a.Versions {
			if n, err := c.Compare(v, lv); err == nil && n == 0 {
				listed = true
			}
		}
	}
	if !found {
		t.Fatalf("%s has no package %s", rec.ID, pkg)
	}
	return affected || listed, fixed
}

func must(t *testing.T) func(int, error) int {
	return func(n int, err error) int {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
}

// TestOSVFeeds evaluates the real OSV documents in ../shared/testdata/feeds/osv.
// Each expectation is read off the document (see the feeds README).
func TestOSVFeeds(t *testing.T) {
	tests := []struct {
		file, pkg, version string
		affected           bool
		fixed              string // when affected: the fix of the range v is in
	}{
		// lodash: introduced 0, fixed 4.17.21.
		{"npm/GHSA-35jh-r3h4-6jhm.json", "lodash", "4.17.20", true, "4.17.21"},
		{"npm/GHSA-35jh-r3h4-6jhm.json", "lodash", "4.17.21", false, ""},
		{"npm/GHSA-35jh-r3h4-6jhm.json", "lodash-es", "4.17.15", true, "4.17.21"},
		// lodash.trim: introduced 0, last_affected 4.5.1 (inclusive, no fix).
		{"npm/GHSA-29mw-wpgm-hmr9.json", "lodash.trim", "4.5.1", true, ""},
		{"npm/GHSA-29mw-wpgm-hmr9.json", "lodash.trim", "4.5.2", false, ""},
		{"npm/GHSA-29mw-wpgm-hmr9.json", "lodash.trimend", "4.0.0", true, ""},
		{"npm/GHSA-29mw-wpgm-hmr9.json", "lodash", "4.17.20", true, "4.17.21"},
		// minimist: [1.0.0, 1.2.6) and [0, 0.2.4).
		{"npm/GHSA-xvch-5gv4-984h.json", "minimist", "1.2.5", true, "1.2.6"},
		{"npm/GHSA-xvch-5gv4-984h.json", "minimist", "0.2.3", true, "0.2.4"},
		{"npm/GHSA-xvch-5gv4-984h.json", "minimist", "0.2.4", false, ""},
		{"npm/GHSA-xvch-5gv4-984h.json", "minimist", "1.2.6", false, ""},
		// jsonwebtoken: introduced 0, fixed 9.0.0.
		{"npm/GHSA-27h2-hvpr-p74q.json", "jsonwebtoken", "8.5.1", true, "9.0.0"},
		{"npm/GHSA-27h2-hvpr-p74q.json", "jsonwebtoken", "9.0.0", false, ""},
		// axios: [0.8.1, 1.6.0), and in GHSA-cph5 [0, 0.21.2).
		{"npm/GHSA-wf5p-g6vw-rhxx.json", "axios", "0.21.1", true, "1.6.0"},
		{"npm/GHSA-wf5p-g6vw-rhxx.json", "axios", "1.6.0", false, ""},
		{"npm/GHSA-wf5p-g6vw-rhxx.json", "axios", "0.8.0", false, ""},
		{"npm/GHSA-cph5-m8f7-6c5x.json", "axios", "0.21.1", true, "0.21.2"},
		// node-fetch: [1.0, 3.1.1) ("1.0" as GitHub writes it) and [0, 2.6.7).
		{"npm/GHSA-r683-j2x4-v87g.json", "node-fetch", "2.6.0", true, "2.6.7"},
		{"npm/GHSA-r683-j2x4-v87g.json", "node-fetch", "3.0.0", true, "3.1.1"},
		{"npm/GHSA-r683-j2x4-v87g.json", "node-fetch", "3.1.1", false, ""},
		// qs: nine ranges, one [6.7.0, 6.7.3).
		{"npm/GHSA-hrpp-h998-j3pp.json", "qs", "6.7.0", true, "6.7.3"},
		{"npm/GHSA-hrpp-h998-j3pp.json", "qs", "6.7.3", false, ""},
		{"npm/GHSA-hrpp-h998-j3pp.json", "qs", "6.11.0", false, ""},
		// express: [0, 4.19.2) and [5.0.0-alpha.1, 5.0.0-beta.3).
		{"npm/GHSA-rv95-896h-c2vc.json", "express", "4.17.1", true, "4.19.2"},
		{"npm/GHSA-rv95-896h-c2vc.json", "express", "4.19.2", false, ""},
		{"npm/GHSA-rv95-896h-c2vc.json", "express", "5.0.0-alpha.8", true, "5.0.0-beta.3"},
		{"npm/GHSA-rv95-896h-c2vc.json", "express", "5.0.0-beta.3", false, ""},
		{"npm/GHSA-qw6h-vgh9-j6wx.json", "express", "4.17.1", true, "4.20.0"},
		{"npm/GHSA-qwcr-r2fm-qrc7.json", "body-parser", "1.19.0", true, "1.20.3"},
		{"npm/GHSA-pxg6-pf52-xh8x.json", "cookie", "0.4.0", true, "0.7.0"},
		{"npm/GHSA-m6fv-jmcg-4jfg.json", "send", "0.17.1", true, "0.19.0"},
		{"npm/GHSA-cm22-4g7w-348p.json", "serve-static", "1.14.1", true, "1.16.0"},
		{"npm/GHSA-9wv6-86v2-598j.json", "path-to-regexp", "0.1.7", true, "0.1.10"},
		{"npm/GHSA-9wv6-86v2-598j.json", "path-to-regexp", "6.3.0", false, ""},

		// gopkg.in/yaml.v3: fixed at a pseudo-version that sorts before v3.0.0.
		{"Go/GO-2022-0603.json", "gopkg.in/yaml.v3", "v3.0.0", false, ""},
		{"Go/GO-2022-0603.json", "gopkg.in/yaml.v3", "v3.0.1", false, ""},
		{"Go/GO-2022-0603.json", "gopkg.in/yaml.v3", "v3.0.0-20210107192922-496545a6307b", true, "3.0.0-20220521103104-8f96da9f5d5e"},
		// gin: introduced at a pseudo-version, fixed 1.9.1.
		{"Go/GO-2023-1737.json", "github.com/gin-gonic/gin", "v1.9.0", true, "1.9.1"},
		{"Go/GO-2023-1737.json", "github.com/gin-gonic/gin", "v1.9.1", false, ""},
		{"Go/GO-2023-1737.json", "github.com/gin-gonic/gin", "v1.3.0", false, ""},
		// stdlib as a binary records it: go1.21.0.
		{"Go/GO-2023-1987.json", "stdlib", "go1.21.0", false, ""}, // [1.21.0-0, 1.21.0-rc.4)
		{"Go/GO-2023-1987.json", "stdlib", "go1.21rc2", true, "1.21.0-rc.4"},
		{"Go/GO-2023-1987.json", "stdlib", "go1.20.6", true, "1.20.7"},
		{"Go/GO-2023-2044.json", "stdlib", "go1.21.0", true, "1.21.1"},
		{"Go/GO-2023-2044.json", "stdlib", "go1.20.7", false, ""}, // introduced 1.21.0-0
		{"Go/GO-2023-2102.json", "stdlib", "go1.21.0", true, "1.21.3"},
		{"Go/GO-2023-2102.json", "stdlib", "go1.20.9", true, "1.20.10"},
		{"Go/GO-2023-2102.json", "stdlib", "go1.21.3", false, ""},
		{"Go/GO-2023-2102.json", "golang.org/x/net", "v0.16.0", true, "0.17.0"},
		{"Go/GO-2023-1571.json", "golang.org/x/net", "v0.7.0", false, ""},
		{"Go/GO-2023-1571.json", "golang.org/x/net", "v0.6.0", true, "0.7.0"},
		{"Go/GO-2022-1059.json", "golang.org/x/text", "v0.3.7", true, "0.3.8"},
		{"Go/GO-2024-3250.json", "github.com/golang-jwt/jwt/v4", "v4.4.1", true, "4.5.1"},
		{"Go/GO-2025-3553.json", "github.com/golang-jwt/jwt/v5", "v5.0.0-rc.1", true, "5.2.2"},
		{"Go/GO-2025-3553.json", "github.com/golang-jwt/jwt/v5", "v4.9.9", false, ""},
		{"Go/GO-2022-0969.json", "golang.org/x/net", "v0.0.0-20220722155237-a158d28d115b", true, "0.0.0-20220906165146-f3363e06e74c"},
		{"Go/GHSA-qppj-fm5r-hxr3.json", "golang.org/x/net", "v0.7.0", true, "0.17.0"},
		{"Go/GHSA-qppj-fm5r-hxr3.json", "google.golang.org/grpc", "v1.57.0", true, "1.57.1"},

		// jackson-databind: [2.13.0, 2.13.2.1) and [0, 2.12.6.1), four-part.
		{"Maven/GHSA-57j2-w4cx-62h2.json", "com.fasterxml.jackson.core:jackson-databind", "2.12.6", true, "2.12.6.1"},
		{"Maven/GHSA-57j2-w4cx-62h2.json", "com.fasterxml.jackson.core:jackson-databind", "2.12.6.1", false, ""},
		{"Maven/GHSA-57j2-w4cx-62h2.json", "com.fasterxml.jackson.core:jackson-databind", "2.13.2", true, "2.13.2.1"},
		{"Maven/GHSA-57j2-w4cx-62h2.json", "com.fasterxml.jackson.core:jackson-databind", "2.13.2.1", false, ""},
		{"Maven/GHSA-57j2-w4cx-62h2.json", "com.fasterxml.jackson.core:jackson-databind", "2.13.2.2", false, ""},
		// log4j-core: [2.13.0, 2.15.0), [0, 2.3.1), [2.4, 2.12.2).
		{"Maven/GHSA-jfh8-c2jp-5v3q.json", "org.apache.logging.log4j:log4j-core", "2.14.1", true, "2.15.0"},
		{"Maven/GHSA-jfh8-c2jp-5v3q.json", "org.apache.logging.log4j:log4j-core", "2.12.1", true, "2.12.2"},
		{"Maven/GHSA-jfh8-c2jp-5v3q.json", "org.apache.logging.log4j:log4j-core", "2.3", true, "2.3.1"},
		{"Maven/GHSA-jfh8-c2jp-5v3q.json", "org.apache.logging.log4j:log4j-core", "2.0-beta9", true, "2.3.1"},
		{"Maven/GHSA-jfh8-c2jp-5v3q.json", "org.apache.logging.log4j:log4j-core", "2.15.0", false, ""},
		{"Maven/GHSA-jfh8-c2jp-5v3q.json", "org.apache.logging.log4j:log4j-core", "2.12.2", false, ""},
		// commons-text: [1.5, 1.10.0).
		{"Maven/GHSA-599f-7c49-w659.json", "org.apache.commons:commons-text", "1.9", true, "1.10.0"},
		{"Maven/GHSA-599f-7c49-w659.json", "org.apache.commons:commons-text", "1.10.0", false, ""},
		{"Maven/GHSA-599f-7c49-w659.json", "org.apache.commons:commons-text", "1.4", false, ""},

		// urllib3: [2.0.0, 2.0.6) and [0, 1.26.17).
		{"PyPI/GHSA-v845-jxx5-vc9f.json", "urllib3", "1.26.16", true, "1.26.17"},
		{"PyPI/GHSA-v845-jxx5-vc9f.json", "urllib3", "1.26.17", false, ""},
		{"PyPI/GHSA-v845-jxx5-vc9f.json", "urllib3", "2.0.5", true, "2.0.6"},
		{"PyPI/GHSA-v845-jxx5-vc9f.json", "urllib3", "2.0.6", false, ""},
		// requests: [2.3.0, 2.31.0).
		{"PyPI/GHSA-j8r2-6x86-q33q.json", "requests", "2.28.1", true, "2.31.0"},
		{"PyPI/GHSA-j8r2-6x86-q33q.json", "requests", "2.31.0", false, ""},
		{"PyPI/GHSA-j8r2-6x86-q33q.json", "requests", "2.2.1", false, ""},
		// PyPA YAML records.
		{"PyPI/pypa-advisory-database/vulns/certifi/PYSEC-2023-135.yaml", "certifi", "2022.12.7", true, "2023.7.22"},
		{"PyPI/pypa-advisory-database/vulns/certifi/PYSEC-2023-135.yaml", "certifi", "2023.7.22", false, ""},
		{"PyPI/pypa-advisory-database/vulns/pyyaml/PYSEC-2021-142.yaml", "pyyaml", "5.3.1", true, "5.4"},
		{"PyPI/pypa-advisory-database/vulns/pyyaml/PYSEC-2021-142.yaml", "pyyaml", "5.4", false, ""},
		{"PyPI/pypa-advisory-database/vulns/requests/PYSEC-2023-74.yaml", "requests", "2.28.1", true, "2.31.0"},
		{"PyPI/pypa-advisory-database/vulns/urllib3/PYSEC-2023-192.yaml", "urllib3", "1.26.16", true, "1.26.17"},

		// Distro OSV: rpm versions with epochs.
		{"Rocky-Linux/RLSA-2021_3891.json", "java-11-openjdk", "1:11.0.12.0.7-0.el8_4", true, "1:11.0.13.0.8-1.el8_4"},
		{"Rocky-Linux/RLSA-2021_3891.json", "java-11-openjdk", "11.0.99-1.el8", true, "1:11.0.13.0.8-1.el8_4"}, // epoch 0 < 1
		{"Rocky-Linux/RLSA-2021_3891.json", "java-11-openjdk", "1:11.0.13.0.8-1.el8_4", false, ""},
		{"Rocky-Linux/RLSA-2023_3220.json", "firefox", "102.11.0-1.el8_7", true, "0:102.11.0-2.el8_7"},
		{"Rocky-Linux/RLSA-2023_3220.json", "firefox", "102.11.0-2.el8_7", false, ""},
		{"AlmaLinux/almalinux9/ALSA-2022:8194.json", "libtiff", "4.2.0-3.el9", true, "4.4.0-2.el9"},
		{"AlmaLinux/almalinux9/ALSA-2024:2433.json", "avahi", "0.8-20.el9", false, ""},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.file)+"/"+tt.pkg+"@"+tt.version, func(t *testing.T) {
			rec := readOSV(t, tt.file)
			affected, fixed := affects(t, rec, tt.pkg, tt.version)
			if affected != tt.affected {
				t.Fatalf("%s: %s %s affected = %v, want %v", rec.ID, tt.pkg, tt.version, affected, tt.affected)
			}
			if affected && fixed != tt.fixed {
				t.Errorf("%s: %s %s fixed = %q, want %q", rec.ID, tt.pkg, tt.version, fixed, tt.fixed)
			}
		})
	}
}

// TestOSVFeedsParse checks that every event of every ECOSYSTEM or SEMVER
// range in the JSON feeds parses with its ecosystem's comparator.
func TestOSVFeedsParse(t *testing.T) {
	root := filepath.Join(analyzetest.SharedDir(t), "testdata", "feeds", "osv")
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.json"))
	more, _ := filepath.Glob(filepath.Join(root, "*", "*", "*.json"))
	files = append(files, more...)
	if len(files) < 40 {
		t.Fatalf("found %d OSV files under %s", len(files), root)
	}
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		rec := readOSV(t, rel)
		for _, a := range rec.Affected {
			c, err := For(a.Package.Ecosystem)
			if err != nil {
				continue // e.g. purl-type:swift
			}
			for _, r := range a.Ranges {
				if r.Type == "GIT" {
					continue
				}
				for _, e := range r.Events {
					for _, v := range e {
						if v == "0" {
							continue
						}
						if _, err := c.Compare(v, v); err != nil {
							t.Errorf("%s %s: %v", rec.ID, a.Package.Name, err)
						}
					}
				}
			}
		}
	}
}
