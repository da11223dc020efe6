// Package storetest is the contract every store.Store satisfies; each
// implementation's test calls Run with a function that opens a fresh,
// empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/store"
)

// Run runs the contract suite. open returns an empty store; Run closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"CreateGet", testCreateGet},
		{"CreateDuplicate", testCreateDuplicate},
		{"UpdateScan", testUpdateScan},
		{"ListPagingFilters", testList},
		{"TenantIsolation", testTenantIsolation},
		{"CompleteAndFindings", testFindings},
		{"FindingsLatestScanOnly", testFindingsLatest},
		{"FindingsPaging", testFindingsPaging},
		{"ConcurrentComplete", testConcurrentComplete},
		{"ScansByDigest", testScansByDigest},
		{"Tokens", testTokens},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			tc.fn(t, st)
		})
	}
}

// Result builds a realistic result of an alpine+Go image with three
// findings (one with aliases, one in the KEV list, one fixed).
func Result(target, digest string) *report.Result {
	r := &report.Result{
		SchemaVersion: report.SchemaVersion,
		Target:        target,
		Image:         &report.Image{Name: target, Digest: digest, Platform: "linux/amd64"},
		Findings: []match.Finding{
			{
				ID:               "CVE-2024-6119",
				Summary:          "openssl: possible denial of service in X.509 name checks",
				Package:          match.PackageRef{ID: "apk:libcrypto3", Name: "libcrypto3", Version: "3.3.1-r0", Ecosystem: "alpine", SourceName: "openssl"},
				InstalledVersion: "3.3.1-r0",
				FixedVersions:    []string{"3.3.2-r0"},
				State:            match.StateFixed,
				Matcher:          match.KindDistro,
				Confidence:       match.ConfidenceHigh,
				Severity:         match.Severity{Label: "HIGH", Score: 7.5, Source: "alpine:alpine"},
				Evidence:         []match.Evidence{{Matcher: match.KindDistro, Advisory: "CVE-2024-6119", RecordID: "CVE-2024-6119", Source: "alpine", Distro: "alpine", Release: "3.20", Package: "openssl", Version: "3.3.1-r0", Compared: "3.3.2-r0"}},
			},
			{
				ID:               "CVE-2023-45288",
				Aliases:          []string{"GHSA-4v7x-pqxf-cx7m", "GO-2024-2687"},
				Package:          match.PackageRef{ID: "go:golang.org/x/net", Name: "golang.org/x/net", Version: "v0.17.0", Ecosystem: "Go", PURL: "pkg:golang/golang.org/x/net@v0.17.0", Path: "/usr/bin/app"},
				InstalledVersion: "v0.17.0",
				FixedVersions:    []string{"0.23.0"},
				State:            match.StateFixed,
				Matcher:          match.KindEcosystem,
				Confidence:       match.ConfidenceHigh,
				Severity:         match.Severity{Label: "MEDIUM", Score: 5.3, Source: "osv:ghsa"},
				Evidence:         []match.Evidence{{Matcher: match.KindEcosystem, Advisory: "GO-2024-2687", RecordID: "GO-2024-2687", Source: "osv", Ecosystem: "Go", Package: "golang.org/x/net", Version: "v0.17.0", Compared: "<0.23.0"}},
			},
			{
				ID:               "CVE-2024-3094",
				Package:          match.PackageRef{ID: "apk:xz-libs", Name: "xz-libs", Version: "5.6.0-r0", Ecosystem: "alpine", SourceName: "xz"},
				InstalledVersion: "5.6.0-r0",
				State:            match.StateOpen,
				Matcher:          match.KindDistro,
				Confidence:       match.ConfidenceHigh,
				Severity:         match.Severity{Label: "CRITICAL", Score: 10, Source: "nvd:nvd@nist.gov"},
				KEV:              &match.KEV{DateAdded: "2024-04-01"},
				Evidence:         []match.Evidence{{Matcher: match.KindDistro, Advisory: "CVE-2024-3094", RecordID: "CVE-2024-3094", Source: "alpine", Package: "xz", Version: "5.6.0-r0", Compared: "open"}},
			},
		},
		Policy:     report.Policy{Decision: "fail", Reasons: []string{"CRITICAL CVE-2024-3094 in xz-libs"}},
		Provenance: report.Provenance{StellaVersion: "test", ScannedAt: time.Now().UTC().Truncate(time.Millisecond), SBOMSource: "unpack"},
	}
	r.Summarize()
	return r
}

var seq int

func newScan(tenant, target string, created time.Time) *store.Scan {
	seq++
	return &store.Scan{
		ID:        fmt.Sprintf("scan-%s-%04d", tenant, seq),
		Tenant:    tenant,
		Target:    target,
		State:     store.StateQueued,
		CreatedAt: created,
		Request:   []byte(`{"image":"` + target + `"}`),
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func mustCreate(t *testing.T, st store.Store, s *store.Scan) {
	t.Helper()
	if err := st.CreateScan(ctx(t), s); err != nil {
		t.Fatalf("CreateScan(%s): %v", s.ID, err)
	}
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testCreateGet(t *testing.T, st store.Store) {
	s := newScan("acme", "alpine:3.20", base)
	mustCreate(t, st, s)
	got, err := st.GetScan(ctx(t), "acme", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != s.ID || got.Tenant != "acme" || got.Target != "alpine:3.20" || got.State != store.StateQueued ||
		!got.CreatedAt.Equal(base) || got.Result != nil || string(got.Request) != string(s.Request) {
		t.Fatalf("GetScan = %+v, want %+v", got, s)
	}
	if _, err := st.GetScan(ctx(t), "acme", "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetScan(absent) err = %v, want ErrNotFound", err)
	}
	if err := st.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCreateDuplicate(t *testing.T, st store.Store) {
	s := newScan("acme", "alpine:3.20", base)
	mustCreate(t, st, s)
	dup := *s
	dup.Tenant = "evil"
	if err := st.CreateScan(ctx(t), &dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateScan(same id, other tenant) err = %v, want ErrConflict", err)
	}
	if _, err := st.GetScan(ctx(t), "evil", s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("duplicate was stored for the other tenant: %v", err)
	}
}

func testUpdateScan(t *testing.T, st store.Store) {
	s := newScan("acme", "alpine:3.20", base)
	mustCreate(t, st, s)
	s.State, s.Attempts, s.Digest = store.StateRunning, 2, "sha256:aaaa"
	if err := st.UpdateScan(ctx(t), s); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetScan(ctx(t), "acme", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateRunning || got.Attempts != 2 || got.Digest != "sha256:aaaa" {
		t.Fatalf("after UpdateScan: %+v", got)
	}
	other := *s
	other.Tenant = "evil"
	if err := st.UpdateScan(ctx(t), &other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateScan(other tenant) err = %v, want ErrNotFound", err)
	}
	// A done scan stays done when a late worker updates it.
	if err := st.CompleteScan(ctx(t), "acme", s.ID, Result(s.Target, "sha256:aaaa")); err != nil {
		t.Fatal(err)
	}
	before, err := st.GetScan(ctx(t), "acme", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	// A worker that loaded the scan before another completed it, then
	// failed, changes none of the done scan's outcome.
	s.State, s.Error, s.Digest, s.Verdict = store.StateRunning, "late failure", "", ""
	if err := st.UpdateScan(ctx(t), s); err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetScan(ctx(t), "acme", s.ID)
	if got.State != store.StateDone || got.Result == nil || got.Error != before.Error || got.Digest != before.Digest || got.Verdict != before.Verdict {
		t.Fatalf("done scan changed by a late update: %+v (before %+v)", got, before)
	}
}

func testList(t *testing.T, st store.Store) {
	var ids []string
	for i := range 7 {
		target := "alpine:3.20"
		if i%2 == 1 {
			target = "registry.example.com/team/app:v" + fmt.Sprint(i)
		}
		s := newScan("acme", target, base.Add(time.Duration(i)*time.Minute))
		mustCreate(t, st, s)
		ids = append(ids, s.ID)
	}
	mustCreate(t, st, newScan("other", "alpine:3.20", base.Add(time.Hour)))
	// Complete the newest app scan: verdict fail, digest set.
	if err := st.CompleteScan(ctx(t), "acme", ids[5], Result("app", "sha256:bbbb")); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ids) // newest first
	var got []string
	cursor := ""
	pages := 0
	for {
		page, next, err := st.ListScans(ctx(t), store.ScanFilter{Tenant: "acme", Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page) > 3 {
			t.Fatalf("page of %d > limit 3", len(page))
		}
		for _, s := range page {
			got = append(got, s.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, ids) || pages != 3 {
		t.Fatalf("paged list = %v in %d pages, want %v in 3", got, pages, ids)
	}
	check := func(f store.ScanFilter, want ...string) {
		t.Helper()
		f.Tenant = "acme"
		page, _, err := st.ListScans(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		var g []string
		for _, s := range page {
			g = append(g, s.ID)
		}
		if !slices.Equal(g, want) {
			t.Fatalf("ListScans(%+v) = %v, want %v", f, g, want)
		}
	}
	// ids is newest first: ids[0] is i=6, ids[1] is i=5 (completed).
	check(store.ScanFilter{Target: "team/app"}, ids[1], ids[3], ids[5])
	check(store.ScanFilter{State: store.StateDone}, ids[1])
	check(store.ScanFilter{Verdict: "fail"}, ids[1])
	check(store.ScanFilter{Digest: "sha256:bbbb"}, ids[1])
	check(store.ScanFilter{Since: base.Add(5 * time.Minute)}, ids[0], ids[1])
	check(store.ScanFilter{Target: "nothing-like-this"})
	if _, _, err := st.ListScans(ctx(t), store.ScanFilter{Tenant: "acme", Cursor: "!!garbage"}); err == nil {
		t.Fatal("ListScans with a garbage cursor: no error")
	}
}

func testTenantIsolation(t *testing.T, st store.Store) {
	a := newScan("acme", "alpine:3.20", base)
	b := newScan("globex", "alpine:3.20", base)
	mustCreate(t, st, a)
	mustCreate(t, st, b)
	if _, err := st.GetScan(ctx(t), "globex", a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("globex read acme's scan: err = %v", err)
	}
	if err := st.CompleteScan(ctx(t), "globex", a.ID, Result(a.Target, "sha256:cccc")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("globex completed acme's scan: err = %v", err)
	}
	if got, _ := st.GetScan(ctx(t), "acme", a.ID); got.State != store.StateQueued {
		t.Fatalf("acme's scan changed by globex: %+v", got)
	}
	if err := st.CompleteScan(ctx(t), "acme", a.ID, Result(a.Target, "sha256:cccc")); err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.Findings(ctx(t), store.FindingFilter{Tenant: "globex"})
	if err != nil || len(rows) != 0 {
		t.Fatalf("globex sees acme's findings: %v, %v", rows, err)
	}
	if ss, err := st.ScansByDigest(ctx(t), "globex", "sha256:cccc"); err != nil || len(ss) != 0 {
		t.Fatalf("globex sees acme's scans by digest: %v, %v", ss, err)
	}
	page, _, err := st.ListScans(ctx(t), store.ScanFilter{Tenant: "globex"})
	if err != nil || len(page) != 1 || page[0].ID != b.ID {
		t.Fatalf("globex list = %v, %v", page, err)
	}
}

func findingIDs(rows []store.FindingRow) []string {
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID+"@"+r.Package)
	}
	slices.Sort(ids)
	return ids
}

func testFindings(t *testing.T, st store.Store) {
	s := newScan("acme", "alpine:3.20", base)
	mustCreate(t, st, s)
	res := Result(s.Target, "sha256:dddd")
	if err := st.CompleteScan(ctx(t), "acme", s.ID, res); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetScan(ctx(t), "acme", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.StateDone || got.Verdict != "fail" || got.Digest != "sha256:dddd" || got.Result == nil ||
		len(got.Result.Findings) != 3 || got.Result.Summary.BySeverity["CRITICAL"] != 1 ||
		got.Result.Findings[1].Aliases[1] != "GO-2024-2687" {
		t.Fatalf("completed scan = %+v", got)
	}
	check := func(f store.FindingFilter, want ...string) []store.FindingRow {
		t.Helper()
		f.Tenant = "acme"
		rows, _, err := st.Findings(ctx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		if g := findingIDs(rows); !slices.Equal(g, want) {
			t.Fatalf("Findings(%+v) = %v, want %v", f, g, want)
		}
		return rows
	}
	all := check(store.FindingFilter{}, "CVE-2023-45288@golang.org/x/net", "CVE-2024-3094@xz-libs", "CVE-2024-6119@libcrypto3")
	for _, r := range all {
		if r.ScanID != s.ID || r.Target != "alpine:3.20" || r.Digest != "sha256:dddd" || !r.ScannedAt.Equal(res.Provenance.ScannedAt) {
			t.Fatalf("row %+v: wrong scan fields", r)
		}
	}
	check(store.FindingFilter{CVE: "CVE-2024-6119"}, "CVE-2024-6119@libcrypto3")
	rows := check(store.FindingFilter{CVE: "GHSA-4v7x-pqxf-cx7m"}, "CVE-2023-45288@golang.org/x/net")
	if r := rows[0]; r.Version != "v0.17.0" || r.Ecosystem != "Go" || r.Severity != "MEDIUM" ||
		!slices.Equal(r.Fixed, []string{"0.23.0"}) || !slices.Equal(r.Aliases, []string{"GHSA-4v7x-pqxf-cx7m", "GO-2024-2687"}) || r.KEV {
		t.Fatalf("alias row = %+v", r)
	}
	check(store.FindingFilter{CVE: "GO-2024-2687"}, "CVE-2023-45288@golang.org/x/net")
	check(store.FindingFilter{CVE: "CVE-1999-0001"})
	check(store.FindingFilter{Package: "xz-libs"}, "CVE-2024-3094@xz-libs")
	rows = check(store.FindingFilter{Severity: "CRITICAL"}, "CVE-2024-3094@xz-libs")
	if !rows[0].KEV {
		t.Fatalf("KEV lost: %+v", rows[0])
	}
	check(store.FindingFilter{Severity: "HIGH", Package: "libcrypto3"}, "CVE-2024-6119@libcrypto3")
	check(store.FindingFilter{Severity: "LOW"})
	check(store.FindingFilter{CVE: "CVE-2024-3094", Package: "libcrypto3"})
}

func testFindingsLatest(t *testing.T, st store.Store) {
	old := newScan("acme", "alpine:3.20", base)
	cur := newScan("acme", "alpine:3.20", base.Add(time.Hour))
	mustCreate(t, st, old)
	mustCreate(t, st, cur)
	// The newer scan completes first; the older one finishing later must
	// not replace its findings.
	fixed := Result(cur.Target, "sha256:eeee")
	fixed.Findings = fixed.Findings[:1]
	if err := st.CompleteScan(ctx(t), "acme", cur.ID, fixed); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteScan(ctx(t), "acme", old.ID, Result(old.Target, "sha256:eeee")); err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.Findings(ctx(t), store.FindingFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].ScanID != cur.ID {
		t.Fatalf("findings = %+v, want only the one of the latest scan %s", rows, cur.ID)
	}
	newest := newScan("acme", "alpine:3.20", base.Add(2*time.Hour))
	mustCreate(t, st, newest)
	if err := st.CompleteScan(ctx(t), "acme", newest.ID, Result(newest.Target, "sha256:eeee")); err != nil {
		t.Fatal(err)
	}
	rows, _, err = st.Findings(ctx(t), store.FindingFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("findings after newest scan = %d, want 3", len(rows))
	}
	for _, r := range rows {
		if r.ScanID != newest.ID {
			t.Fatalf("row of scan %s, want %s", r.ScanID, newest.ID)
		}
	}
}

func testFindingsPaging(t *testing.T, st store.Store) {
	want := 0
	for i := range 4 {
		s := newScan("acme", fmt.Sprintf("app-%d:latest", i), base.Add(time.Duration(i)*time.Minute))
		mustCreate(t, st, s)
		if err := st.CompleteScan(ctx(t), "acme", s.ID, Result(s.Target, fmt.Sprintf("sha256:%04d", i))); err != nil {
			t.Fatal(err)
		}
		want += 3
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		rows, next, err := st.Findings(ctx(t), store.FindingFilter{Tenant: "acme", Limit: 5, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) > 5 {
			t.Fatalf("page of %d > limit 5", len(rows))
		}
		for _, r := range rows {
			k := r.ScanID + "/" + r.ID
			if seen[k] {
				t.Fatalf("%s on two pages", k)
			}
			seen[k] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != want {
		t.Fatalf("paged %d findings, want %d", len(seen), want)
	}
}

func testConcurrentComplete(t *testing.T, st store.Store) {
	s := newScan("acme", "alpine:3.20", base)
	mustCreate(t, st, s)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := Result(s.Target, "sha256:ffff")
			r.Provenance.StellaVersion = fmt.Sprintf("worker-%d", i)
			errs <- st.CompleteScan(context.Background(), "acme", s.ID, r)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent CompleteScan: %v", err)
		}
	}
	rows, _, err := st.Findings(ctx(t), store.FindingFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d findings after %d completions, want 3 (stored once)", len(rows), n)
	}
	got, err := st.GetScan(ctx(t), "acme", s.ID)
	if err != nil {
		t.Fatal(err)
	}
	winner := got.Result.Provenance.StellaVersion
	// A later completion changes nothing.
	late := Result(s.Target, "sha256:ffff")
	late.Provenance.StellaVersion = "late"
	if err := st.CompleteScan(ctx(t), "acme", s.ID, late); err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetScan(ctx(t), "acme", s.ID)
	if got.Result.Provenance.StellaVersion != winner {
		t.Fatalf("late completion replaced the result: %q, want %q", got.Result.Provenance.StellaVersion, winner)
	}
	if rows, _, _ := st.Findings(ctx(t), store.FindingFilter{Tenant: "acme"}); len(rows) != 3 {
		t.Fatalf("%d findings after a late completion, want 3", len(rows))
	}
}

func testScansByDigest(t *testing.T, st store.Store) {
	a := newScan("acme", "app:v1", base)
	b := newScan("acme", "app:latest", base.Add(time.Minute))
	c := newScan("acme", "other:v1", base.Add(2*time.Minute))
	for _, s := range []*store.Scan{a, b, c} {
		mustCreate(t, st, s)
	}
	for _, s := range []*store.Scan{a, b} {
		if err := st.CompleteScan(ctx(t), "acme", s.ID, Result(s.Target, "sha256:1111")); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CompleteScan(ctx(t), "acme", c.ID, Result(c.Target, "sha256:2222")); err != nil {
		t.Fatal(err)
	}
	got, err := st.ScansByDigest(ctx(t), "acme", "sha256:1111")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID {
		t.Fatalf("ScansByDigest = %v, want [%s %s]", got, b.ID, a.ID)
	}
}

func testTokens(t *testing.T, st store.Store) {
	exp := base.Add(24 * time.Hour)
	tok := &store.Token{ID: "tok-1", Tenant: "acme", Subject: "alice", Role: "scanner", Name: "ci", Hash: "h1", CreatedAt: base, ExpiresAt: &exp}
	if err := st.PutToken(ctx(t), tok); err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(ctx(t), &store.Token{ID: "tok-2", Tenant: "acme", Subject: "bob", Role: "viewer", Name: "dash", Hash: "h2", CreatedAt: base.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutToken(ctx(t), &store.Token{ID: "tok-3", Tenant: "globex", Subject: "eve", Role: "admin", Name: "x", Hash: "h1", CreatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutToken(duplicate hash) err = %v, want ErrConflict", err)
	}
	if err := st.PutToken(ctx(t), &store.Token{ID: "tok-1", Tenant: "globex", Subject: "eve", Role: "admin", Name: "x", Hash: "h9", CreatedAt: base}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("PutToken(other tenant's id) err = %v, want ErrConflict", err)
	}
	got, err := st.TokenByHash(ctx(t), "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "tok-1" || got.Tenant != "acme" || got.Subject != "alice" || got.Role != "scanner" ||
		got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil || !got.CreatedAt.Equal(base) {
		t.Fatalf("TokenByHash = %+v", got)
	}
	if _, err := st.TokenByHash(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("TokenByHash(absent) err = %v", err)
	}
	list, err := st.ListTokens(ctx(t), "acme")
	if err != nil || len(list) != 2 || list[0].ID != "tok-1" || list[1].ID != "tok-2" {
		t.Fatalf("ListTokens = %v, %v", list, err)
	}
	if list, _ := st.ListTokens(ctx(t), "globex"); len(list) != 0 {
		t.Fatalf("globex tokens = %v", list)
	}
	if err := st.RevokeToken(ctx(t), "globex", "tok-1", base); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("globex revoked acme's token: err = %v", err)
	}
	at := base.Add(2 * time.Hour)
	if err := st.RevokeToken(ctx(t), "acme", "tok-1", at); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeToken(ctx(t), "acme", "tok-1", at.Add(time.Hour)); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	got, err = st.TokenByHash(ctx(t), "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(at) {
		t.Fatalf("RevokedAt = %v, want %v", got.RevokedAt, at)
	}
	if got, _ := st.TokenByHash(ctx(t), "h2"); got.RevokedAt != nil {
		t.Fatal("revoking tok-1 revoked tok-2")
	}
}
