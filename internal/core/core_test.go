package core

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stella-scan/stella/internal/analyze/analyzetest"
	"github.com/stella-scan/stella/internal/match/matchtest"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom/cyclonedx"
	"github.com/stella-scan/stella/internal/scan"
	"github.com/stella-scan/stella/internal/testutil"
)

func TestMain(m *testing.M) { matchtest.Main(m) }

// pushFixture copies a fixture's OCI layout image to a loopback registry.
func pushFixture(t *testing.T, img string) string {
	t.Helper()
	ref := testutil.Registry(t) + "/fixtures/" + img + ":v1"
	if _, err := testutil.PushLayout(filepath.Join(analyzetest.SharedDir(t), "testdata", "images", img, "oci"), ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

func findingIDs(r *report.Result) []string {
	var s []string
	for _, f := range r.Findings {
		s = append(s, f.ID+" "+f.Package.Name+" "+f.InstalledVersion)
	}
	sort.Strings(s)
	return s
}

// The same scans in-process and through a `stella core` gRPC service on
// loopback give the same findings and verdict; an input error stays an
// input error across the wire; the core refuses to read its own files.
func TestLocalAndGRPC(t *testing.T) {
	ctx := context.Background()
	ev, err := policy.Load(ctx, policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local := &Local{DB: matchtest.Open(t), Options: scan.Options{}, Policy: ev, Version: "test"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go Serve(sctx, l, local, "test")
	client, err := Dial(l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.Health(ctx); err != nil {
		t.Fatalf("health: %v", err)
	}

	ref := pushFixture(t, "debian-app")
	doc, _, err := scan.SBOM(ctx, "oci:"+filepath.Join(analyzetest.SharedDir(t), "testdata", "images", "alpine-3.10-old", "oci"), scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var bom strings.Builder
	if err := cyclonedx.Encode(&bom, doc, "1.6"); err != nil {
		t.Fatal(err)
	}
	reqs := []Request{
		{ScanID: "s1", Tenant: "t", Image: ref},
		{ScanID: "s2", Tenant: "t", SBOM: []byte(bom.String())},
	}
	for _, mode := range []struct {
		name string
		s    Scanner
	}{{"in-process", local}, {"grpc", client}} {
		for _, req := range reqs {
			t.Run(mode.name+"/"+req.ScanID, func(t *testing.T) {
				res, err := mode.s.Scan(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := local.Scan(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Findings) < 10 {
					t.Fatalf("only %d findings", len(res.Findings))
				}
				if a, b := findingIDs(res), findingIDs(ref); strings.Join(a, "\n") != strings.Join(b, "\n") {
					t.Errorf("%s findings differ from in-process: %d vs %d", mode.name, len(a), len(b))
				}
				if res.Policy.Decision != "fail" {
					t.Errorf("verdict %q, want fail (critical fixable findings)", res.Policy.Decision)
				}
			})
		}
		t.Run(mode.name+"/refusals", func(t *testing.T) {
			for _, req := range []Request{
				{ScanID: "x", Image: "oci:" + os.TempDir()},
				{ScanID: "y", SBOM: []byte("not an sbom")},
				{ScanID: "z"},
			} {
				_, err := mode.s.Scan(ctx, req)
				if err == nil || !IsInputError(err) {
					t.Errorf("%+v: want an input error, got %v", req, err)
				}
			}
		})
	}
}
