// Package web holds Stella's web UI (Angular + Tailwind, sources under
// src/), built by `make web` into bundle/out/ and embedded in the binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:bundle
var bundle embed.FS

// FS returns the built UI (index.html at its root), or nil when this
// binary was built without it (bundle/ holds only the placeholder).
func FS() fs.FS {
	sub, err := fs.Sub(bundle, "bundle/out/browser")
	if err != nil {
		return nil
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil
	}
	return sub
}
