package image

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
)

// openDockerArchive opens a `docker save` archive, gzip-compressed or not.
// The library reads manifest.json and the config; layers (plain or
// compressed inside the archive) are read through its uncompressed view.
func openDockerArchive(t Target) (*Opened, error) {
	opener := func() (io.ReadCloser, error) {
		f, err := os.Open(t.Ref)
		if err != nil {
			return nil, err
		}
		br := bufio.NewReader(f)
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("gzip: %w", err)
			}
			return readCloser{Reader: zr, close: func() error { zr.Close(); return f.Close() }}, nil
		}
		return readCloser{Reader: br, close: f.Close}, nil
	}
	img, err := tarball.Image(opener, nil)
	if err != nil {
		return nil, fmt.Errorf("docker archive: %w", err)
	}
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, fmt.Errorf("docker archive manifest.json: %w", err)
	}
	name := "docker-archive:" + t.Ref
	var tags []string
	if len(m) > 0 {
		tags = m[0].RepoTags
	}
	o := &Opened{Target: t, Image: img, Name: name}
	if len(tags) > 0 {
		o.Name = tags[0]
	}
	return o, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
