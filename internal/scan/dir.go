package scan

import (
	"archive/tar"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stella-scan/stella/internal/layer"
	"github.com/stella-scan/stella/internal/sbom"
)

// sbomDir scans a root filesystem directory as one synthesised layer: the
// directory is streamed as a tar through a pipe, so the same walk (path
// confinement, limits, analyzers) serves it. Symlinks are recorded, never
// followed.
func sbomDir(ctx context.Context, root string, opts Options, st *Stats) (*sbom.Document, *Stats, error) {
	t0 := time.Now()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(ctx, root, pw)) }()
	r, err := layer.Walk(ctx, layer.Blob{R: pr}, 1, "", analyzers(opts), opts.Limits)
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		return nil, nil, err
	}
	st.Analyze = time.Since(t0)
	st.Layers = []LayerStats{{Index: 1, Bytes: r.Bytes, Duration: r.Duration, Files: len(r.Files)}}
	st.Warnings = r.Warnings
	doc := assemble(layer.Merge([]*layer.Result{r}))
	doc.Target = "dir:" + root
	doc.Source = "unpack"
	return doc, st, nil
}

func writeTar(ctx context.Context, root string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return nil // sockets and the like: nothing to analyze
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.CopyN(tw, f, h.Size)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
