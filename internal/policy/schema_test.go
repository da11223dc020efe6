package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The documented schema (api/schema/policy-input.json) describes what Go
// writes: every object is closed (additionalProperties: false), so a field
// added to Input without the schema fails here.
func TestInputSchema(t *testing.T) {
	path := filepath.Join("..", "..", "api", "schema", "policy-input.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("policy-input.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("policy-input.json")
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	full := syntheticInput(20)
	full.Image.Platform, full.Image.Digest = "linux/amd64", "sha256:0123abcd"
	full.Image.Layers = []Layer{{Index: 1, DiffID: "sha256:aa", Digest: "sha256:bb", Size: 10, CreatedBy: "ADD x"}}
	full.SBOM.Source, full.SBOM.Distro = "unpack", "debian:12"
	full.Findings[0].State = "fixed"
	full.Findings[1].CVSS = CVSS{Score: 9.8, Vector: "CVSS:3.1/AV:N", Version: "3.1"}
	full.Provenance = Provenance{StellaVersion: "dev", DBVersion: "1", DBUpdated: "2026-01-01T00:00:00Z", DBAgeHours: 3, Analyzers: map[string]int{"dpkg": 1}, Plugins: map[string]string{"p": "sha256:00"}, SBOMSource: "unpack"}
	zero := &Input{}
	empty := InputFrom(nil, nil, Provenance{})
	cases := []struct {
		name string
		in   *Input
	}{{"full", full}, {"zero", zero}, {"empty", &empty}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("%s does not match the schema: %v", b[:min(len(b), 300)], err)
			}
		})
	}
}
