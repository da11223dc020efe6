// Command vuln-provider is an example Stella plug-in
// (VulnerabilityProvider): it reports the organisation's own advisories,
// listed in its configuration, against the packages of the SBOM.
//
// Configuration (STELLA_PLUGIN_CONFIG, from vuln-provider.json beside the
// binary): {"advisories": [{"id": "ACME-2026-0001", "package": "zlib1g", "severity": "high", "fixed": "1:1.3", "summary": "…"}]}
package main

import (
	"context"
	"encoding/json"
	"os"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
	"github.com/stella-scan/stella/pkg/pluginsdk"
)

type advisory struct {
	ID       string `json:"id"`
	Package  string `json:"package"`
	Severity string `json:"severity"`
	Fixed    string `json:"fixed"`
	Summary  string `json:"summary"`
}

func main() {
	var cfg struct {
		Advisories []advisory `json:"advisories"`
	}
	_ = json.Unmarshal([]byte(os.Getenv("STELLA_PLUGIN_CONFIG")), &cfg)
	pluginsdk.ServeVulnerabilityProvider(pluginsdk.Info{Name: "example-vuln-provider", Version: "1.0.0"},
		func(_ context.Context, sbom *pluginv1.SBOM) ([]*pluginv1.Finding, error) {
			var out []*pluginv1.Finding
			for _, p := range sbom.Packages {
				for _, a := range cfg.Advisories {
					if a.Package != p.Name {
						continue
					}
					f := &pluginv1.Finding{Id: a.ID, PackageId: p.Id, Severity: a.Severity, Summary: a.Summary}
					if a.Fixed != "" {
						f.FixedVersions = []string{a.Fixed}
					}
					out = append(out, f)
				}
			}
			return out, nil
		})
}
