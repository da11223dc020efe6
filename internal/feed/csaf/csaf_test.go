package csaf

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/feed"
	"github.com/stella-scan/stella/internal/testutil"
)

func collect(t *testing.T, c *Connector, src feed.Source, since time.Time) (map[string]feed.Record, []feed.Problem) {
	t.Helper()
	var (
		mu       sync.Mutex
		problems []feed.Problem
	)
	src.OnProblem = func(p feed.Problem) { mu.Lock(); problems = append(problems, p); mu.Unlock() }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make(chan feed.Record, 64)
	errc := make(chan error, 1)
	go func() { errc <- c.Fetch(ctx, src, since, out); close(out) }()
	recs := map[string]feed.Record{}
	for r := range out {
		if _, dup := recs[r.ID]; dup {
			t.Errorf("record %s sent twice", r.ID)
		}
		recs[r.ID] = r
	}
	if err := <-errc; err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return recs, problems
}

const hbaseAMD64 = "pkg:oci/hbase@sha256:e4a52426c37da32cc8d0bb57520b982a22ec1897ace8cf77fcf6ed2c2c5bd47c?arch=amd64&repository_url=oci.stackable.tech/sdp/hbase"

func checkFacts(t *testing.T, recs map[string]feed.Record) {
	t.Helper()
	for _, id := range []string{"CVE-2022-1471", "CVE-2015-1832", "CVE-2026-42203", "STACKSA_2024_0101_0001", "STACKSA_2024_0113_0001"} {
		if _, ok := recs[id]; !ok {
			t.Errorf("no record %s (have %d)", id, len(recs))
		}
	}
	r := recs["CVE-2022-1471"]
	var fixed, notAffected []feed.Affected
	for _, a := range r.Affected {
		switch a.State {
		case feed.StateFixed:
			fixed = append(fixed, a)
		case feed.StateNotAffected:
			notAffected = append(notAffected, a)
		}
	}
	// One fixed product, pkg:maven/org.yaml/snakeyaml@1.33 in the hbase image
	// sha256:e4a5…, and four known_not_affected.
	if len(fixed) != 1 || len(notAffected) != 4 {
		t.Fatalf("CVE-2022-1471: %d fixed, %d not affected: %+v", len(fixed), len(notAffected), r.Affected)
	}
	f := fixed[0]
	if f.Ecosystem != "maven" || f.Package != "org.yaml:snakeyaml" || f.FixedVersion != "1.33" || f.Release != hbaseAMD64 || f.PURL != "pkg:maven/org.yaml/snakeyaml@1.33" {
		t.Errorf("fixed entry = %+v", f)
	}
	if r.Summary != "Stackable Security Advisory for: CVE-2022-1471" || !r.Published.Equal(time.Date(2026, 7, 13, 9, 49, 30, 52342000, time.UTC)) {
		t.Errorf("CVE-2022-1471 summary %q published %v", r.Summary, r.Published)
	}
	if r.Status != "final" {
		t.Errorf("CVE-2022-1471 tracking.status = %q, want final", r.Status)
	}
	if !strings.Contains(r.Details, "SnakeYaml's Constructor()") {
		t.Errorf("details = %q", r.Details)
	}
	// STACKSA_2024_0101_0001: CVE-2023-51767, 16 known_affected products, all
	// with a no_fix_planned remediation: will not fix, in each airflow image.
	s := recs["STACKSA_2024_0101_0001"]
	if !slices.Equal(s.Aliases, []string{"CVE-2023-51767"}) {
		t.Errorf("STACKSA_2024_0101_0001 aliases = %v", s.Aliases)
	}
	if len(s.Affected) != 16 {
		t.Errorf("STACKSA_2024_0101_0001 has %d entries, want 16", len(s.Affected))
	}
	for _, a := range s.Affected {
		if a.State != feed.StateWillNotFix || a.Ecosystem != "rpm" || (a.Package != "openssh" && a.Package != "openssh-clients") ||
			!slices.Equal(a.Versions, []string{"8.7p1-38.el9_4.4"}) || !strings.HasPrefix(a.Release, "pkg:oci/airflow@sha256:") {
			t.Errorf("STACKSA_2024_0101_0001 entry %+v", a)
		}
	}
}

func TestMirror(t *testing.T) {
	recs, problems := collect(t, New(), feed.Source{Mirror: testutil.FeedsDir(t)}, time.Time{})
	checkFacts(t, recs)
	if len(recs) != 5 {
		t.Errorf("%d records, want 5", len(recs))
	}
	// index.txt lists 23 advisories, changes.csv repeats one of them: the 18
	// not in the mirror are problems; the 5 present verify (sha256, sha512, signature).
	absent := 0
	for _, p := range problems {
		if strings.Contains(p.Err.Error(), "absent") {
			absent++
			continue
		}
		t.Errorf("unexpected problem: %v", p)
	}
	if absent != 18 {
		t.Errorf("%d absent advisories reported, want 18", absent)
	}
	if !slices.ContainsFunc(problems, func(p feed.Problem) bool {
		return strings.HasSuffix(filepath.ToSlash(p.Doc), "csaf/v2/advisories/2024/stacksa_2024_0089_0001.json")
	}) {
		t.Error("stacksa_2024_0089_0001.json (listed twice in changes.csv) not reported absent")
	}
}

func TestProviderMetadata(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.FeedsDir(t), "csaf/stackable/.well-known/csaf/provider-metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	md, err := ParseProviderMetadata(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if md.Role != "csaf_trusted_provider" || md.MetadataVersion != "2.0" ||
		md.CanonicalURL != "https://advisories.stackable.tech/.well-known/csaf/provider-metadata.json" ||
		len(md.Distributions) != 1 || md.Distributions[0].DirectoryURL != "https://advisories.stackable.tech/csaf/v2/advisories/" ||
		len(md.PublicOpenPGPKeys) != 1 || md.PublicOpenPGPKeys[0].Fingerprint != "218E03479FE800223105FEA631905DED3EFD610A" {
		t.Errorf("provider metadata = %+v", md)
	}
}

// TestChecksumsAndSignatures checks every real checksum file (both name
// forms) and signature, then tampered copies.
func TestChecksumsAndSignatures(t *testing.T) {
	dir := filepath.Join(testutil.FeedsDir(t), "csaf/stackable/csaf/v2")
	key, err := os.ReadFile(filepath.Join(dir, "openpgp/4005788070EAA8A5.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var keys Keyring
	if err := keys.AddKey(key, "218E03479FE800223105FEA631905DED3EFD610A"); err != nil {
		t.Fatal(err)
	}
	var other Keyring
	if err := other.AddKey(key, "0000000000000000000000000000000000000000"); err == nil {
		t.Error("a key with the wrong fingerprint was accepted")
	}
	docs := []string{"2024/stacksa_2024_0101_0001.json", "2024/stacksa_2024_0113_0001.json", "2026/cve-2015-1832.json", "2026/cve-2022-1471.json", "2026/cve-2026-42203.json"}
	for _, rel := range docs {
		p := filepath.Join(dir, "advisories", rel)
		doc, _ := os.ReadFile(p)
		for _, algo := range []string{"sha256", "sha512"} {
			sum, err := os.ReadFile(p + "." + algo)
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckHash(doc, rel, sum, algo); err != nil {
				t.Errorf("%s.%s: %v", rel, algo, err)
			}
			bad := bytes.Clone(doc)
			bad[len(bad)/2] ^= 1
			if err := CheckHash(bad, rel, sum, algo); err == nil {
				t.Errorf("%s.%s: a flipped byte passed", rel, algo)
			}
		}
		sig, _ := os.ReadFile(p + ".asc")
		fp, err := keys.Verify(doc, sig)
		if err != nil || fp != "218E03479FE800223105FEA631905DED3EFD610A" {
			t.Errorf("%s.asc: %s %v", rel, fp, err)
		}
		bad := bytes.Clone(doc)
		bad[10] ^= 1
		if _, err := keys.Verify(bad, sig); err == nil {
			t.Errorf("%s: signature accepted over altered bytes", rel)
		}
	}
	// The two real checksum file forms.
	s24, _ := os.ReadFile(filepath.Join(dir, "advisories/2024/stacksa_2024_0101_0001.json.sha256"))
	s26, _ := os.ReadFile(filepath.Join(dir, "advisories/2026/cve-2022-1471.json.sha256"))
	if !strings.HasSuffix(strings.TrimSpace(string(s24)), "  stacksa_2024_0101_0001.json") || !strings.HasSuffix(strings.TrimSpace(string(s26)), "  2026/cve-2022-1471.json") {
		t.Errorf("checksum file forms changed: %q %q", s24, s26)
	}
	if err := CheckHash([]byte("x"), "a.json", s24, "sha256"); err == nil {
		t.Error("wrong document accepted")
	}
}

// copyTree copies the Stackable provider into dir/csaf/stackable.
func copyTree(t *testing.T, dir string) string {
	src := filepath.Join(testutil.FeedsDir(t), "csaf/stackable")
	dst := filepath.Join(dir, "csaf", "stackable")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestMirrorTampered(t *testing.T) {
	dir := t.TempDir()
	root := copyTree(t, dir)
	adv := filepath.Join(root, "csaf/v2/advisories")
	// 1. A flipped byte: the checksums no longer match.
	p := filepath.Join(adv, "2026/cve-2015-1832.json")
	data, _ := os.ReadFile(p)
	data[100] ^= 0x20
	os.WriteFile(p, data, 0o644)
	// 2. Altered and re-hashed: checksums match, the signature does not.
	p = filepath.Join(adv, "2026/cve-2026-42203.json")
	data, _ = os.ReadFile(p)
	data = bytes.Replace(data, []byte(`"final"`), []byte(`"draft"`), 1)
	os.WriteFile(p, data, 0o644)
	s256, s512 := sha256.Sum256(data), sha512.Sum512(data)
	os.WriteFile(p+".sha256", []byte(hex.EncodeToString(s256[:])+"  2026/cve-2026-42203.json"), 0o644)
	os.WriteFile(p+".sha512", []byte(hex.EncodeToString(s512[:])+"  2026/cve-2026-42203.json"), 0o644)
	// 3. No signature and no checksums: read, but reported.
	p = filepath.Join(adv, "2024/stacksa_2024_0113_0001.json")
	os.Remove(p + ".asc")
	os.Remove(p + ".sha256")
	os.Remove(p + ".sha512")

	recs, problems := collect(t, New(), feed.Source{Mirror: dir}, time.Time{})
	if _, ok := recs["CVE-2015-1832"]; ok {
		t.Error("document with a checksum mismatch was read")
	}
	if _, ok := recs["CVE-2026-42203"]; ok {
		t.Error("document with a bad signature was read")
	}
	if _, ok := recs["STACKSA_2024_0113_0001"]; !ok {
		t.Error("unsigned document not read")
	}
	if _, ok := recs["CVE-2022-1471"]; !ok {
		t.Error("intact document not read")
	}
	var mismatch, badSig, unsigned, unverified bool
	for _, p := range problems {
		msg := p.Err.Error()
		switch {
		case strings.Contains(msg, "sha256 mismatch") && strings.HasSuffix(p.Doc, "cve-2015-1832.json"):
			mismatch = true
		case strings.Contains(msg, "OpenPGP signature") && strings.HasSuffix(p.Doc, "cve-2026-42203.json"):
			badSig = true
		case strings.Contains(msg, "no .asc") && strings.HasSuffix(p.Doc, "stacksa_2024_0113_0001.json"):
			unsigned = true
		case strings.Contains(msg, "no .sha256") && strings.HasSuffix(p.Doc, "stacksa_2024_0113_0001.json"):
			unverified = true
		}
	}
	if !mismatch || !badSig || !unsigned || !unverified {
		t.Errorf("mismatch %v badSig %v unsigned %v unverified %v; problems: %v", mismatch, badSig, unsigned, unverified, problems)
	}
}

// TestHTTP serves the provider like advisories.stackable.tech (a static
// site): the real files at their URL paths, 404 for the advisories the
// sample does not include. BaseURL stands for the provider's origin.
func TestHTTP(t *testing.T) {
	root := filepath.Join(testutil.FeedsDir(t), "csaf/stackable")
	var mu sync.Mutex
	hits := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		n := hits[r.URL.Path]
		mu.Unlock()
		if r.URL.Path == "/csaf/v2/advisories/changes.csv" && n == 1 {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		p := filepath.Join(root, filepath.FromSlash(filepath.Clean("/"+r.URL.Path)))
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, p)
	}))
	defer srv.Close()
	client := feed.NewClient()
	client.MinBackoff, client.MaxBackoff = 5*time.Millisecond, 20*time.Millisecond
	recs, problems := collect(t, New(), feed.Source{BaseURL: srv.URL, Client: client}, time.Time{})
	checkFacts(t, recs)
	absent := 0
	for _, p := range problems {
		if strings.Contains(p.Err.Error(), "absent") && strings.HasPrefix(p.Doc, srv.URL+"/csaf/v2/advisories/") {
			absent++
		} else {
			t.Errorf("unexpected problem %v", p)
		}
	}
	if absent != 18 {
		t.Errorf("%d absent, want 18", absent)
	}
	if hits["/csaf/v2/openpgp/4005788070EAA8A5.txt"] != 1 || hits["/csaf/v2/advisories/2026/cve-2022-1471.json.asc"] != 1 {
		t.Errorf("key or signature not fetched: %v", hits)
	}
	if got := recs["CVE-2022-1471"].DocURL; got != srv.URL+"/csaf/v2/advisories/2026/cve-2022-1471.json" {
		t.Errorf("DocURL = %s", got)
	}
	// since after every change: nothing is fetched again.
	recs, _ = collect(t, New(), feed.Source{BaseURL: srv.URL, Client: client}, time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC))
	if len(recs) != 0 {
		t.Errorf("since August 2026: %d records", len(recs))
	}
}

func TestParsePURL(t *testing.T) {
	for in, want := range map[string]PURL{
		"pkg:maven/org.yaml/snakeyaml@1.33@pkg:oci/hbase@sha256%3Ae4a5?arch=amd64": {Type: "maven", Namespace: "org.yaml", Name: "snakeyaml", Version: "1.33"},
		"pkg:rpm/redhat/python3.9@3.9.18-3.el9_4.5?arch=src":                       {Type: "rpm", Namespace: "redhat", Name: "python3.9", Version: "3.9.18-3.el9_4.5"},
		"pkg:npm/%40angular/core@1.0.0":                                            {Type: "npm", Namespace: "@angular", Name: "core", Version: "1.0.0"},
	} {
		got, ok := ParsePURL(in)
		if !ok || got.Type != want.Type || got.Namespace != want.Namespace || got.Name != want.Name || got.Version != want.Version {
			t.Errorf("ParsePURL(%q) = %+v, want %+v", in, got, want)
		}
	}
	for _, bad := range []string{"", "pkg:", "pkg:/x", "cpe:/a:b", "pkg:maven"} {
		if _, ok := ParsePURL(bad); ok {
			t.Errorf("ParsePURL(%q) accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	dir := filepath.Join(testutil.FeedsDir(f), "csaf/stackable/csaf/v2/advisories")
	for _, rel := range []string{"2026/cve-2022-1471.json", "2024/stacksa_2024_0113_0001.json"} {
		data, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range d.Records("fuzz", nil) {
			if r.ID == "" {
				t.Fatal("record without id")
			}
		}
	})
}

func FuzzCheckHash(f *testing.F) {
	sum, err := os.ReadFile(filepath.Join(testutil.FeedsDir(f), "csaf/stackable/csaf/v2/advisories/2026/cve-2022-1471.json.sha256"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte("{}"), sum)
	f.Fuzz(func(t *testing.T, doc, sum []byte) {
		_ = CheckHash(doc, "x.json", sum, "sha256")
		_ = CheckHash(doc, "x.json", sum, "sha512")
	})
}
