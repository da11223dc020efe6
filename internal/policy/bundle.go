package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
)

// WriteBundle writes what the engine evaluates to dir, for an OPA server
// (`opa run --server DIR`, the --opa-url sidecar): every module as it was
// written (so errors and print output keep their lines), the generated
// data.stella.collected module, and all data merged into one data.json at
// the root. Test modules are left out. dir is created; files in it are
// overwritten.
func (e *Engine) WriteBundle(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	write := func(rel string, b []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("bundle %s: %w", dir, err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return fmt.Errorf("bundle %s: %w", dir, err)
		}
		return nil
	}
	for _, f := range e.set.files {
		if f.test {
			continue
		}
		// Modules are placed by root so that two directories' files of the
		// same name do not collide; a module's path does not change its
		// package.
		rel := path.Join("builtin", f.rel)
		if f.root > 0 {
			rel = path.Join("org"+strconv.Itoa(f.root), f.rel)
		}
		if err := write(rel, f.raw); err != nil {
			return err
		}
	}
	if err := write("builtin/stella/collected/collected.rego", []byte(e.generated)); err != nil {
		return err
	}
	data, err := json.MarshalIndent(e.set.data, "", "  ")
	if err != nil {
		return fmt.Errorf("bundle %s: data: %w", dir, err)
	}
	return write("data.json", data)
}
