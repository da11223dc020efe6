package policy

import (
	"context"
	"testing"
	"time"

	"github.com/stella-scan/stella/internal/match"
	"github.com/stella-scan/stella/internal/report"
	"github.com/stella-scan/stella/internal/sbom"
)

func TestFromResult(t *testing.T) {
	built := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	pkg := sbom.Package{Name: "openssl", Version: "3.0.1", Ecosystem: sbom.Deb, PURL: "pkg:deb/debian/openssl@3.0.1", Layer: "sha256:l1"}
	r := &report.Result{
		Target: "registry.test/app:1",
		Image:  &report.Image{Name: "registry.test/app:1", Digest: "sha256:d", Platform: "linux/amd64", Layers: []report.Layer{{Index: 1, DiffID: "sha256:l1", Cache: "hit"}}},
		SBOM:   &sbom.Document{Target: "registry.test/app:1", Packages: []sbom.Package{pkg}, Source: "unpack"},
		Findings: []match.Finding{
			{ID: "CVE-2024-1", Aliases: []string{"DSA-1"}, Package: match.PackageRef{Name: "openssl", Version: "3.0.1", Ecosystem: "deb", PURL: pkg.PURL},
				InstalledVersion: "3.0.1", FixedVersions: []string{"3.0.2"}, State: match.StateFixed,
				Severity: match.Severity{Label: "HIGH", Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"},
				KEV:      &match.KEV{DateAdded: "2024-01-01"}, EPSS: &match.EPSS{Score: 0.5}},
			{ID: "CVE-2024-2", Package: match.PackageRef{Name: "openssl", Version: "3.0.1", Ecosystem: "deb"}, InstalledVersion: "3.0.1", State: match.StateOpen,
				Severity: match.Severity{Label: "LOW", Vector: "AV:N/AC:L/Au:N/C:P/I:N/A:N"}, VEX: &match.VEX{Status: "not_affected", Justification: "component_not_present"}},
		},
		Provenance: report.Provenance{StellaVersion: "dev", SBOMSource: "unpack", DB: report.DB{SchemaVersion: 1, BuiltAt: built, AgeHours: 30},
			Analyzers: []report.Analyzer{{Name: "dpkg", Version: 2}}, Plugins: []report.Plugin{{Name: "p", SHA256: "00"}}},
	}
	in := FromResult(r)
	f := in.Findings[0]
	switch {
	case in.Image.Digest != "sha256:d" || len(in.Image.Layers) != 1 || len(in.SBOM.Packages) != 1:
		t.Errorf("image/sbom: %+v %+v", in.Image, in.SBOM)
	case f.ID != "CVE-2024-1" || !f.KEV || f.EPSS != 0.5 || f.CVSS.Version != "3.1" || f.Fixed[0] != "3.0.2" || f.State != "fixed" || f.Severity != "HIGH":
		t.Errorf("finding: %+v", f)
	case in.Findings[1].VEX.Status != "not_affected" || in.Findings[1].CVSS.Version != "2.0":
		t.Errorf("finding 2: %+v", in.Findings[1])
	case in.Provenance.DBUpdated != "2026-01-02T03:04:05Z" || in.Provenance.DBAgeHours != 30 || in.Provenance.Analyzers["dpkg"] != 2 || in.Provenance.Plugins["p"] != "00":
		t.Errorf("provenance: %+v", in.Provenance)
	}
	// And it decides: HIGH with a fix and KEV fail; the VEX'd one is out.
	d, err := mustLoad(t, Options{}).Evaluate(context.Background(), &in)
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict != VerdictFail || len(d.Deny) != 2 || len(d.Warn) != 0 {
		t.Errorf("decision %+v", d)
	}
}
