package php

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/stella-scan/stella/internal/sbom"
)

// composerPackage is the part of a package entry Stella reads; lock files
// and installed.json share it.
type composerPackage struct {
	Name    string          `json:"name"`
	Version string          `json:"version"`
	Type    string          `json:"type"`
	License json.RawMessage `json:"license"` // ["MIT"] or, in old files, "MIT"
	Source  struct {
		Type      string `json:"type"`
		URL       string `json:"url"`
		Reference string `json:"reference"`
	} `json:"source"`
}

// ParseComposerLock returns the packages of a composer.lock: "packages"
// with scope prod, "packages-dev" with scope dev, versions exactly as
// written (Symfony's "v2.8.32" keeps its "v").
func ParseComposerLock(b []byte) ([]sbom.Package, error) {
	var lock struct {
		Packages    *[]composerPackage `json:"packages"`
		PackagesDev []composerPackage  `json:"packages-dev"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return nil, fmt.Errorf("composer.lock: %w", err)
	}
	if lock.Packages == nil {
		return nil, errors.New("composer.lock: no \"packages\" key")
	}
	var c collector
	for _, p := range *lock.Packages {
		c.add(p, "prod")
	}
	for _, p := range lock.PackagesDev {
		c.add(p, "dev")
	}
	return c.out, nil
}

// ParseInstalledJSON returns the packages of vendor/composer/installed.json:
// Composer 1 writes an array of packages; Composer 2 an object with
// "packages" and "dev-package-names" (those get scope dev, the others
// prod). Composer 1 records no scope.
func ParseInstalledJSON(b []byte) ([]sbom.Package, error) {
	b = bytes.TrimSpace(b)
	var c collector
	if len(b) > 0 && b[0] == '[' {
		var pkgs []composerPackage
		if err := json.Unmarshal(b, &pkgs); err != nil {
			return nil, fmt.Errorf("installed.json: %w", err)
		}
		for _, p := range pkgs {
			c.add(p, "")
		}
		return c.out, nil
	}
	var v2 struct {
		Packages        *[]composerPackage `json:"packages"`
		DevPackageNames []string           `json:"dev-package-names"`
	}
	if err := json.Unmarshal(b, &v2); err != nil {
		return nil, fmt.Errorf("installed.json: %w", err)
	}
	if v2.Packages == nil {
		return nil, errors.New("installed.json: neither an array nor an object with \"packages\"")
	}
	dev := map[string]bool{}
	for _, n := range v2.DevPackageNames {
		dev[n] = true
	}
	for _, p := range *v2.Packages {
		scope := "prod"
		if dev[p.Name] {
			scope = "dev"
		}
		c.add(p, scope)
	}
	return c.out, nil
}

// collector keeps one package per name and version, with the strongest
// scope (prod over dev).
type collector struct {
	out   []sbom.Package
	index map[string]int
}

func (c *collector) add(e composerPackage, scope string) {
	if e.Name == "" || e.Version == "" {
		return
	}
	if c.index == nil {
		c.index = map[string]int{}
	}
	k := e.Name + "\x00" + e.Version
	if i, ok := c.index[k]; ok {
		if scope == "prod" {
			c.out[i].Scope = scope
		}
		return
	}
	p := sbom.Package{
		Name:      e.Name,
		Version:   e.Version,
		Ecosystem: sbom.Composer,
		Licenses:  licenses(e.License),
		Scope:     scope,
	}
	md := map[string]string{}
	if e.Type != "" {
		md["type"] = e.Type
	}
	if e.Source.Reference != "" {
		md["sourceReference"] = e.Source.Reference
	}
	if e.Source.URL != "" {
		md["sourceURL"] = e.Source.URL
	}
	if len(md) > 0 {
		p.Metadata = md
	}
	p.PURL = sbom.PURL(&p)
	c.index[k] = len(c.out)
	c.out = append(c.out, p)
}

// licenses reads Composer's licence field, an array of SPDX ids (or one
// string in old files).
func licenses(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}
