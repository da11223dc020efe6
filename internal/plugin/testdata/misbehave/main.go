// Command misbehave is a VulnerabilityProvider plug-in that misbehaves as
// its configuration says: {"mode": "crash" | "hang" | "hog" | "env"}.
// The plug-in tests start it to show that each misbehaviour is contained.
package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"time"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
	"github.com/stella-scan/stella/pkg/pluginsdk"
)

var hoard [][]byte

func main() {
	var cfg struct{ Mode string }
	_ = json.Unmarshal([]byte(os.Getenv("STELLA_PLUGIN_CONFIG")), &cfg)
	pluginsdk.ServeVulnerabilityProvider(pluginsdk.Info{Name: "misbehave-" + cfg.Mode, Version: "0.0.1"},
		func(ctx context.Context, sbom *pluginv1.SBOM) ([]*pluginv1.Finding, error) {
			switch cfg.Mode {
			case "crash":
				var m map[string]int
				m["boom"] = 1 // nil map write: the process dies
			case "hang":
				time.Sleep(24 * time.Hour)
			case "hog":
				for {
					b := make([]byte, 16<<20)
					for i := range b {
						b[i] = 1
					}
					hoard = append(hoard, b)
				}
			case "env":
				// Report what the sandbox left in the environment and who
				// the process runs as.
				var out []*pluginv1.Finding
				for _, kv := range os.Environ() {
					k, _, _ := strings.Cut(kv, "=")
					out = append(out, &pluginv1.Finding{Id: "ENV-" + k, PackageId: sbom.Packages[0].Id})
				}
				out = append(out, &pluginv1.Finding{Id: "UID-" + strconv.Itoa(os.Getuid()), PackageId: sbom.Packages[0].Id})
				return out, nil
			}
			return nil, nil
		})
}
