// Package web holds Stella's web UI (Angular + Tailwind, sources under
// src/), built by `make web` into dist/ and embedded in the binary.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// FS returns the built UI (index.html at its root), or nil when this
// binary was built without it (dist/ holds only the placeholder).
func FS() fs.FS {
	sub, err := fs.Sub(dist, "dist/ui/browser")
	if err != nil {
		return nil
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil
	}
	return sub
}
