package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store"
)

// TestEndToEnd runs the same scenario with the core in-process and over
// gRPC: events over WebSocket, an image scan through the registry on
// loopback, the result, verdict, SBOM in every format, findings, the image
// view, the list filters, then an uploaded-SBOM scan.
func TestEndToEnd(t *testing.T) {
	fx := registryFixtures(t)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			g := newGateway(t, gwOptions{mode: mode})
			tok := g.token("alice", "acme", server.RoleScanner)

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			wsURL := "ws" + strings.TrimPrefix(g.URL, "http") + "/api/events?access_token=" + url.QueryEscape(tok)
			ws, _, err := websocket.Dial(ctx, wsURL, nil)
			if err != nil {
				t.Fatalf("websocket: %v", err)
			}
			defer ws.CloseNow()
			// Another tenant's listener must hear nothing of acme's scans.
			other, _, err := websocket.Dial(ctx, wsURL[:strings.Index(wsURL, "access_token=")]+"access_token="+url.QueryEscape(g.token("eve", "globex", server.RoleViewer)), nil)
			if err != nil {
				t.Fatalf("websocket: %v", err)
			}
			defer other.CloseNow()
			time.Sleep(50 * time.Millisecond) // let the subscriptions register

			id := g.postScan(tok, map[string]string{"image": fx.refs["debian-app"]})
			var seen []string
			for len(seen) == 0 || seen[len(seen)-1] != server.EventFinished {
				var e server.Event
				if err := wsjson.Read(ctx, ws, &e); err != nil {
					t.Fatalf("events so far %v: %v", seen, err)
				}
				if e.ScanID != id {
					t.Fatalf("event for scan %s, want %s", e.ScanID, id)
				}
				if e.Type == server.EventFailed {
					t.Fatalf("scan failed: %s", e.Error)
				}
				seen = append(seen, e.Type)
			}
			if strings.Join(seen, ",") != "scan.queued,scan.started,scan.finished" {
				t.Errorf("events %v", seen)
			}
			octx, ocancel := context.WithTimeout(ctx, 300*time.Millisecond)
			var leaked server.Event
			if err := wsjson.Read(octx, other, &leaked); err == nil {
				t.Errorf("tenant globex heard acme's event %+v", leaked)
			}
			ocancel()

			sc := g.wait(tok, id)
			if sc.State != store.StateDone || sc.Result == nil {
				t.Fatalf("scan %s: state %s error %q", id, sc.State, sc.Error)
			}
			if sc.Digest != fx.digests["debian-app"] {
				t.Errorf("digest %s, want %s", sc.Digest, fx.digests["debian-app"])
			}
			if !slices.Contains([]string{"pass", "warn", "fail"}, sc.Verdict) || sc.Result.Policy.Decision != sc.Verdict || len(sc.Result.Findings) == 0 || sc.Result.SBOM == nil || len(sc.Result.SBOM.Packages) == 0 {
				t.Fatalf("verdict %q, %d findings", sc.Verdict, len(sc.Result.Findings))
			}

			// The SBOM in each format.
			for format, marker := range map[string]string{"cyclonedx-json": `"bomFormat"`, "spdx-json": `"spdxVersion"`, "json": `"packages"`} {
				code, _, body := g.do("GET", "/api/scans/"+id+"/sbom?format="+format, tok, nil)
				if code != 200 || !strings.Contains(string(body), marker) {
					t.Errorf("sbom %s: %d %.200s", format, code, body)
				}
			}
			if code, _, _ := g.do("GET", "/api/scans/"+id+"/sbom?format=xml", tok, nil); code != 400 {
				t.Errorf("sbom format=xml: %d, want 400", code)
			}

			// Findings by CVE, package and severity.
			f0 := sc.Result.Findings[0]
			var fl server.FindingList
			g.getJSON("/api/findings?cve="+url.QueryEscape(f0.ID), tok, 200, &fl)
			if len(fl.Findings) == 0 || fl.Findings[0].ID != f0.ID || fl.Findings[0].ScanID != id {
				t.Errorf("findings?cve=%s: %+v", f0.ID, fl.Findings)
			}
			g.getJSON("/api/findings?package="+url.QueryEscape(f0.Package.Name)+"&severity="+strings.ToLower(f0.Severity.Label), tok, 200, &fl)
			if len(fl.Findings) == 0 {
				t.Errorf("findings?package=%s&severity=%s: none", f0.Package.Name, f0.Severity.Label)
			}
			for _, r := range fl.Findings {
				if r.Package != f0.Package.Name || !strings.EqualFold(r.Severity, f0.Severity.Label) {
					t.Errorf("filtered finding %+v", r)
				}
			}

			// The image view.
			var iv server.ImageView
			g.getJSON("/api/images/"+sc.Digest, tok, 200, &iv)
			if iv.Latest == nil || iv.Latest.ID != id || len(iv.Scans) != 1 {
				t.Errorf("image view: %+v", iv)
			}

			// An uploaded SBOM (the CycloneDX of the first scan) gives the
			// same vulnerabilities.
			_, _, cdx := g.do("GET", "/api/scans/"+id+"/sbom?format=cyclonedx-json", tok, nil)
			id2 := g.postScan(tok, map[string]json.RawMessage{"sbom": cdx})
			sc2 := g.wait(tok, id2)
			if sc2.State != store.StateDone || sc2.Target != "sbom:" {
				t.Fatalf("sbom scan: %s %q target %q", sc2.State, sc2.Error, sc2.Target)
			}
			if a, b := vulnIDs(sc.Result.Findings), vulnIDs(sc2.Result.Findings); a != b {
				t.Errorf("uploaded SBOM findings differ:\n image %s\n sbom  %s", a, b)
			}

			// A scan of an absent image fails with a message naming it.
			id3 := g.postScan(tok, map[string]string{"image": fx.host + "/fixtures/absent:v9"})
			sc3 := g.wait(tok, id3)
			if sc3.State != store.StateFailed || !strings.Contains(sc3.Error, "absent") {
				t.Errorf("absent image: %s %q", sc3.State, sc3.Error)
			}

			// Lists, filters and paging.
			var sl server.ScanList
			g.getJSON("/api/scans?state=done", tok, 200, &sl)
			if len(sl.Scans) != 2 {
				t.Errorf("state=done: %d scans", len(sl.Scans))
			}
			g.getJSON("/api/scans?limit=1", tok, 200, &sl)
			if len(sl.Scans) != 1 || sl.Next == "" {
				t.Fatalf("limit=1: %d scans, next %q", len(sl.Scans), sl.Next)
			}
			g.getJSON("/api/scans?limit=5&cursor="+url.QueryEscape(sl.Next), tok, 200, &sl)
			if len(sl.Scans) != 2 {
				t.Errorf("second page: %d scans", len(sl.Scans))
			}
			g.getJSON("/api/scans?target=debian-app", tok, 200, &sl)
			if len(sl.Scans) != 1 || sl.Scans[0].ID != id {
				t.Errorf("target=debian-app: %+v", sl.Scans)
			}
			for _, bad := range []string{"state=bogus", "limit=0", "limit=x", "since=yesterday"} {
				if code, _, _ := g.do("GET", "/api/scans?"+bad, tok, nil); code != http.StatusBadRequest {
					t.Errorf("%s: %d, want 400", bad, code)
				}
			}
		})
	}
}

// vulnIDs lists "id package version" of the findings, sorted.
func vulnIDs(fs []match.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+" "+f.Package.Name+" "+f.InstalledVersion)
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}
