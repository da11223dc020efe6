// Package image opens scan targets: registry references, OCI layouts,
// docker-archives, root directories and SBOM files. Every image source
// ends as a go-containerregistry v1.Image; nothing downstream knows where
// it came from.
package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Kinds of target.
const (
	KindRegistry      = "registry"
	KindOCI           = "oci"
	KindDockerArchive = "docker-archive"
	KindDir           = "dir"
	KindSBOM          = "sbom"
)

// Options control how a target is opened.
type Options struct {
	Platform  string // os/arch[/variant]; default linux/amd64
	MaxLayers int    // default 256
	// Insecure allows plain HTTP to any registry; localhost and 127.0.0.1
	// are always allowed plain HTTP.
	Insecure bool
}

// DefaultMaxLayers bounds the layers of one image.
const DefaultMaxLayers = 256

// Target is what a TARGET argument names.
type Target struct {
	Kind string
	Ref  string // path or reference, without the kind prefix
	Tag  string // oci: the ref.name to select
}

// Opened is an image ready to walk, or a directory, or an SBOM file.
type Opened struct {
	Target Target
	Image  v1.Image // nil for dir: and sbom:
	Name   string   // display name
	Digest string   // manifest digest, when an image
	// Platform the image was selected for, as os/arch.
	Platform string
	// Compressed is true when Layers' blobs should be read compressed and
	// verified against their digests (registry, OCI layout); docker
	// archives are read through the library's uncompressed view.
	Compressed bool
	closer     func() error
}

// Close releases what Open held.
func (o *Opened) Close() error {
	if o.closer != nil {
		return o.closer()
	}
	return nil
}

// InputError says a target or document could not be read; the CLI maps it
// to exit code 3.
type InputError struct {
	Input string
	Err   error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Input, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }

// Parse splits a TARGET into its kind and reference. A bare path that
// exists is recognised by content; anything else is a registry reference.
func Parse(s string) (Target, error) {
	for _, k := range []string{KindOCI, KindDockerArchive, KindDir, KindSBOM, KindRegistry} {
		if rest, ok := strings.CutPrefix(s, k+":"); ok {
			t := Target{Kind: k, Ref: rest}
			if k == KindOCI {
				t.Ref, t.Tag = splitOCITag(rest)
			}
			if t.Ref == "" {
				return t, fmt.Errorf("target %q: empty %s reference", s, k)
			}
			return t, nil
		}
	}
	if _, err := os.Stat(s); err == nil {
		k, err := detect(s)
		if err != nil {
			return Target{}, &InputError{Input: s, Err: err}
		}
		return Target{Kind: k, Ref: s}, nil
	}
	return Target{Kind: KindRegistry, Ref: s}, nil
}

// splitOCITag splits "DIR:TAG" where DIR itself may contain colons: the tag
// is taken only when DIR without it exists and the tag has no slash.
func splitOCITag(s string) (string, string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, ""
	}
	if _, err := os.Stat(s); err == nil {
		return s, ""
	}
	if strings.Contains(s[i+1:], "/") {
		return s, ""
	}
	return s[:i], s[i+1:]
}

// detect recognises a bare path by its content.
func detect(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		if _, err := os.Stat(p + "/oci-layout"); err == nil {
			return KindOCI, nil
		}
		return KindDir, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch {
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return KindDockerArchive, nil // docker save | gzip
	case n >= 262 && string(head[257:262]) == "ustar":
		return KindDockerArchive, nil
	}
	t := strings.TrimSpace(string(head))
	switch {
	case strings.HasPrefix(t, "{"), strings.HasPrefix(t, "<"), strings.HasPrefix(t, "SPDXVersion"), strings.HasPrefix(t, "##"):
		return KindSBOM, nil
	}
	return "", errors.New("not an OCI layout, docker archive, directory or SBOM file")
}

// Open opens a parsed target.
func Open(ctx context.Context, t Target, opts Options) (*Opened, error) {
	if opts.Platform == "" {
		opts.Platform = "linux/amd64"
	}
	if opts.MaxLayers <= 0 {
		opts.MaxLayers = DefaultMaxLayers
	}
	var (
		o   *Opened
		err error
	)
	switch t.Kind {
	case KindOCI:
		o, err = openLayout(t, opts)
	case KindDockerArchive:
		o, err = openDockerArchive(t)
	case KindRegistry:
		o, err = openRegistry(ctx, t, opts)
	case KindDir, KindSBOM:
		if _, serr := os.Stat(t.Ref); serr != nil {
			return nil, &InputError{Input: t.Kind + ":" + t.Ref, Err: serr}
		}
		return &Opened{Target: t, Name: t.Ref}, nil
	default:
		return nil, fmt.Errorf("unknown target kind %q", t.Kind)
	}
	if err != nil {
		return nil, &InputError{Input: display(t), Err: err}
	}
	if err := check(o, opts); err != nil {
		o.Close()
		return nil, &InputError{Input: display(t), Err: err}
	}
	return o, nil
}

func display(t Target) string {
	if t.Kind == KindRegistry {
		return t.Ref
	}
	s := t.Kind + ":" + t.Ref
	if t.Tag != "" {
		s += ":" + t.Tag
	}
	return s
}

// check reads the manifest and config before any layer: it bounds the
// layer count and names the manifest digest when either cannot be parsed.
func check(o *Opened, opts Options) error {
	m, err := o.Image.Manifest()
	if err != nil {
		return fmt.Errorf("manifest %s: %w", o.Digest, err)
	}
	if len(m.Layers) > opts.MaxLayers {
		return fmt.Errorf("manifest %s lists %d layers, more than the limit %d (raise it with --max-layers)", o.Digest, len(m.Layers), opts.MaxLayers)
	}
	cf, err := o.Image.ConfigFile()
	if err != nil {
		return fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	if n := len(cf.RootFS.DiffIDs); n != len(m.Layers) {
		return fmt.Errorf("manifest %s has %d layers but its config lists %d diff_ids", o.Digest, len(m.Layers), n)
	}
	if o.Platform == "" && cf.OS != "" {
		o.Platform = cf.OS + "/" + cf.Architecture
	}
	return nil
}

// isIndex reports whether a media type is an image index or manifest list.
func isIndex(mt types.MediaType) bool {
	return mt == types.OCIImageIndex || mt == types.DockerManifestList
}
