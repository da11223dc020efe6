package rust

import (
	"bytes"
	"compress/zlib"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/stella-scan/stella/internal/sbom"
)

// Limits of the embedded audit data: real sections are a few kilobytes.
const (
	maxSection = 8 << 20  // compressed .dep-v0
	maxAudit   = 64 << 20 // decompressed JSON
)

// ParseAuditableBinary returns the crates recorded by cargo-auditable in an
// ELF executable, or nothing when it has no .dep-v0 section.
func ParseAuditableBinary(data []byte) ([]sbom.Package, error) {
	return parseAuditableELF(bytes.NewReader(data))
}

func parseAuditableELF(r io.ReaderAt) (pkgs []sbom.Package, err error) {
	defer func() {
		// debug/elf is not meant for hostile input in every corner; a
		// malformed binary is an error, never a crash of the scan.
		if r := recover(); r != nil {
			pkgs, err = nil, fmt.Errorf("malformed ELF: %v", r)
		}
	}()
	ef, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("ELF: %w", err)
	}
	sec := ef.Section(".dep-v0")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil, nil
	}
	if sec.Size > maxSection {
		return nil, fmt.Errorf(".dep-v0 section of %d bytes, above %d", sec.Size, maxSection)
	}
	zr, err := zlib.NewReader(io.LimitReader(sec.Open(), maxSection))
	if err != nil {
		return nil, fmt.Errorf(".dep-v0: %w", err)
	}
	defer zr.Close()
	js, err := io.ReadAll(io.LimitReader(zr, maxAudit+1))
	if err != nil {
		return nil, fmt.Errorf(".dep-v0: %w", err)
	}
	if len(js) > maxAudit {
		return nil, fmt.Errorf(".dep-v0: decompressed data above %d bytes", maxAudit)
	}
	return ParseAuditJSON(js)
}

// ParseAuditJSON reads cargo-auditable's VersionInfo JSON:
// {"packages":[{"name","version","source","kind","dependencies","root"}]}.
// Crates whose source is "local" are the binary's own workspace (scope
// "workspace"); build-time dependencies keep Metadata["kind"] = "build".
func ParseAuditJSON(b []byte) ([]sbom.Package, error) {
	var vi struct {
		Format   int `json:"format"`
		Packages []struct {
			Name    string          `json:"name"`
			Version string          `json:"version"`
			Source  json.RawMessage `json:"source"`
			Kind    string          `json:"kind"`
			Root    bool            `json:"root"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &vi); err != nil {
		return nil, fmt.Errorf("audit data: %w", err)
	}
	if vi.Packages == nil {
		return nil, errors.New("audit data: no packages")
	}
	var out []sbom.Package
	seen := map[string]bool{}
	for _, e := range vi.Packages {
		if e.Name == "" || e.Version == "" {
			continue
		}
		src := auditSource(e.Source)
		k := e.Name + "\x00" + e.Version + "\x00" + src
		if seen[k] {
			continue
		}
		seen[k] = true
		p := newPackage(e.Name, e.Version)
		p.Metadata = map[string]string{"source": src, "evidence": "cargo-auditable"}
		if e.Kind == "build" {
			p.Metadata["kind"] = "build"
		}
		if e.Root {
			p.Metadata["root"] = "true"
		}
		if src == "local" {
			p.Scope = "workspace"
		}
		out = append(out, p)
	}
	return out, nil
}

// auditSource flattens a source: "crates.io", "git", "local", "registry",
// or the text of {"Other": "…"}.
func auditSource(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct{ Other string }
	if json.Unmarshal(raw, &o) == nil {
		return o.Other
	}
	return ""
}
