// Command sbom-mutator is an example Stella plug-in (SbomMutator): it
// records the team that owns each package, from a prefix table in its
// configuration, and adds the image's vendored component that no package
// database lists.
//
// Configuration (STELLA_PLUGIN_CONFIG, from sbom-mutator.json beside the
// binary): {"owners": {"lib": "platform-team"}, "vendored": {"name": "acme-sdk", "version": "2.4.1"}}
package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
	"github.com/stella-scan/stella/pkg/pluginsdk"
)

type config struct {
	Owners   map[string]string `json:"owners"`
	Vendored *struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"vendored"`
}

func main() {
	var cfg config
	_ = json.Unmarshal([]byte(os.Getenv("STELLA_PLUGIN_CONFIG")), &cfg)
	pluginsdk.ServeSBOMMutator(pluginsdk.Info{Name: "example-sbom-mutator", Version: "1.0.0"},
		func(_ context.Context, sbom *pluginv1.SBOM) (*pluginv1.SBOM, error) {
			for _, p := range sbom.Packages {
				for prefix, team := range cfg.Owners {
					if strings.HasPrefix(p.Name, prefix) {
						if p.Metadata == nil {
							p.Metadata = map[string]string{}
						}
						p.Metadata["owner"] = team
					}
				}
			}
			if v := cfg.Vendored; v != nil {
				sbom.Packages = append(sbom.Packages, &pluginv1.Package{
					Id: "vendored:" + v.Name, Name: v.Name, Version: v.Version, Ecosystem: "generic",
					Purl: "pkg:generic/" + v.Name + "@" + v.Version, Metadata: map[string]string{"source": "example-sbom-mutator"},
				})
			}
			return sbom, nil
		})
}
