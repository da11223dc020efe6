package main

import (
	"io/fs"

	"github.com/stella-scan/stella/web"
)

// webUI is the embedded web UI, nil when the binary was built without it.
func webUI() fs.FS { return web.FS() }
