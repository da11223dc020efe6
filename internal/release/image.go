// Package release builds Stella's own container image without a Docker
// engine — distroless-style: no shell, a non-root user, the static
// binary, CA certificates and the plug-in directory — reproducibly (two
// builds of one commit give the same digest), then attaches its SBOMs as
// OCI referrers, an in-toto SLSA provenance statement, and cosign-
// compatible signatures (ECDSA P-256: simple signing for the image, DSSE
// for the attestations), and verifies all of it.
package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// UID and GID Stella runs as in its image.
const (
	UID = 65532
	GID = 65532
)

// Paths inside the image.
const (
	BinaryPath = "/usr/local/bin/stella"
	PluginDir  = "/opt/stella/plugins"
	CACerts    = "/etc/ssl/certs/ca-certificates.crt"
)

// Options of an image build.
type Options struct {
	Binary  string    // the static stella binary
	CACerts string    // PEM bundle to ship (default: the build machine's)
	Version string    // stamped into labels
	Commit  string    // source commit
	Created time.Time // every timestamp in the image (SOURCE_DATE_EPOCH)
	Arch    string    // GOARCH of the image (default: read from the binary's ELF header)
}

// elfArch maps an ELF machine to a GOARCH.
var elfArch = map[elf.Machine]string{
	elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64", elf.EM_386: "386", elf.EM_ARM: "arm",
	elf.EM_PPC64: "ppc64le", elf.EM_S390: "s390x", elf.EM_RISCV: "riscv64", elf.EM_LOONGARCH: "loong64",
}

// binaryArch reads the GOARCH of a Linux executable.
func binaryArch(path string, b []byte) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("release: binary %s: not a Linux executable (%w); give --arch", path, err)
	}
	a, ok := elfArch[f.Machine]
	if !ok {
		return "", fmt.Errorf("release: binary %s: unknown ELF machine %s; give --arch", path, f.Machine)
	}
	return a, nil
}

// Build assembles the image. Every byte depends only on the inputs: tar
// entries are sorted with fixed owners, modes and times; gzip carries no
// name or time; the config's timestamps are Created.
func Build(o Options) (v1.Image, error) {
	if o.CACerts == "" {
		o.CACerts = CACerts
	}
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("release: binary: %w", err)
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("release: CA certificates: %w", err)
	}
	if o.Arch == "" {
		if o.Arch, err = binaryArch(o.Binary, bin); err != nil {
			return nil, err
		}
	}
	t := o.Created.UTC()
	layer, err := rootfs(t, bin, certs)
	if err != nil {
		return nil, err
	}
	// Compressed once, here: a gzip stream without name or time, at a
	// fixed level, depends only on the tar and the Go version.
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(layer); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(compressed)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
		Created: v1.Time{Time: t}, CreatedBy: "stella release build (go-containerregistry, no Docker engine)",
	}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = o.Arch, "linux"
	cf.Created = v1.Time{Time: t}
	cf.Config = v1.Config{
		User:         fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint:   []string{BinaryPath},
		Cmd:          []string{"serve", "--addr", "0.0.0.0:8080", "--data", "/var/lib/stella"},
		Env:          []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + CACerts, "STELLA_PLUGIN_DIR=" + PluginDir, "STELLA_DATA=/var/lib/stella", "XDG_CACHE_HOME=/var/lib/stella/cache"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":    "stella",
			"org.opencontainers.image.version":  o.Version,
			"org.opencontainers.image.revision": o.Commit,
			"org.opencontainers.image.source":   "https://github.com/stella-scan/stella",
			"org.opencontainers.image.created":  t.Format(time.RFC3339),
		},
	}
	return mutate.ConfigFile(img, cf)
}

// rootfs is the image's only layer, as an uncompressed tar.
func rootfs(t time.Time, bin, certs []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: t, Format: tar.FormatUSTAR})
	}
	file := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: t, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", UID, GID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", GID)
	// In lexical order, parents first.
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return file("etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file("etc/ssl/certs/ca-certificates.crt", 0o644, certs) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/nonroot", 0o700, UID) },
		func() error { return dir("opt", 0o755, 0) },
		func() error { return dir("opt/stella", 0o755, 0) },
		func() error { return dir("opt/stella/plugins", 0o755, 0) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir("usr", 0o755, 0) },
		func() error { return dir("usr/local", 0o755, 0) },
		func() error { return dir("usr/local/bin", 0o755, 0) },
		func() error { return file("usr/local/bin/stella", 0o755, bin) },
		func() error { return dir("var", 0o755, 0) },
		func() error { return dir("var/lib", 0o755, 0) },
		func() error { return dir("var/lib/stella", 0o700, UID) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layoutTag is the ref.name annotation of an image in an OCI layout.
const layoutTag = "org.opencontainers.image.ref.name"

// containerdName is the full image name of a layout entry, as containerd
// and BuildKit write it.
const containerdName = "io.containerd.image.name"

// WriteDockerArchive writes img as a docker-archive (docker load) tagged tag.
func WriteDockerArchive(path string, tag name.Tag, img v1.Image) error {
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("release: docker archive %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}
