package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	_ "github.com/stella-scan/stella/internal/analyze/all"
	"github.com/stella-scan/stella/internal/cache"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/layer"
	"github.com/stella-scan/stella/internal/scan"
)

func init() { register(newSBOMCmd) }

// sourceFlags are the flags shared by `sbom` and `scan`.
type sourceFlags struct {
	platform   string
	sbomSource string
	cache      string
	noCache    bool
	sbomKey    string
	insecure   bool
	maxLayers  int
	limits     layer.Limits
}

func (f *sourceFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.platform, "platform", "linux/amd64", "platform to select from an image index (os/arch[/variant])")
	fs.StringVar(&f.sbomSource, "sbom-source", "auto", "where packages come from: auto, attached, embedded or unpack")
	fs.StringVar(&f.cache, "cache", "", "layer cache: a directory or redis://… (default: the user cache directory)")
	fs.BoolVar(&f.noCache, "no-cache", false, "do not read or write the layer cache")
	fs.StringVar(&f.sbomKey, "sbom-key", "", "PEM public key (cosign.pub): use a cosign SBOM attestation only if its signature verifies")
	fs.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP to any registry (loopback is always allowed)")
	fs.IntVar(&f.maxLayers, "max-layers", image.DefaultMaxLayers, "refuse images with more layers")
	d := layer.DefaultLimits
	fs.Int64Var(&f.limits.MaxLayerSize, "max-layer-size", d.MaxLayerSize, "refuse a layer that inflates to more bytes")
	fs.Int64Var(&f.limits.MaxFileSize, "max-file-size", d.MaxFileSize, "refuse a layer entry larger than this many bytes")
	fs.Int64Var(&f.limits.MaxRatio, "max-compression-ratio", d.MaxRatio, "refuse a layer that inflates more than this ratio (decompression bombs)")
	fs.IntVar(&f.limits.MaxEntries, "max-entries", d.MaxEntries, "refuse a layer with more tar entries")
}

func (f *sourceFlags) options(cmd *cobra.Command) (scan.Options, error) {
	switch f.sbomSource {
	case "auto", "attached", "embedded", "unpack":
	default:
		return scan.Options{}, withCode(exitUsage, fmt.Errorf("--sbom-source %q: want auto, attached, embedded or unpack", f.sbomSource))
	}
	o := scan.Options{
		Image:      image.Options{Platform: f.platform, MaxLayers: f.maxLayers, Insecure: f.insecure},
		Limits:     f.limits,
		SBOMSource: f.sbomSource,
	}
	if f.sbomKey != "" {
		b, err := os.ReadFile(f.sbomKey)
		if err != nil {
			return scan.Options{}, withCode(exitInput, fmt.Errorf("--sbom-key: %w", err))
		}
		o.AttestationKey = b
	}
	if !f.noCache {
		c, err := cache.Open(f.cache, cache.Options{})
		if err != nil {
			return scan.Options{}, withCode(exitUsage, fmt.Errorf("--cache: %w", err))
		}
		o.Cache = c
	}
	if isatty.IsTerminal(os.Stderr.Fd()) && os.Getenv("CI") == "" {
		o.Progress = func(done, total int, l *layer.Result) {
			fmt.Fprintf(cmd.ErrOrStderr(), "\rlayers %d/%d analyzed", done, total)
			if done == total {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
		}
	}
	return o, nil
}

func newSBOMCmd() *cobra.Command {
	var (
		sf     sourceFlags
		format string
		out    string
	)
	cmd := &cobra.Command{
		Use:   "sbom TARGET",
		Short: "List every package in an image, directory or SBOM file",
		Long: `List every package in TARGET and write an SBOM.

TARGET is a registry reference (alpine:3.19, localhost:5000/app@sha256:…),
oci:DIR[:TAG], docker-archive:FILE, dir:PATH or sbom:FILE; a bare path is
recognised by its content.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !validSBOMFormat(format) {
				return withCode(exitUsage, fmt.Errorf("-f %q: want one of %v", format, sbomFormats))
			}
			opts, err := sf.options(cmd)
			if err != nil {
				return err
			}
			doc, _, err := scan.SBOM(cmd.Context(), args[0], opts)
			if err != nil {
				return classify(err)
			}
			return writeOutput(cmd, out, func(w io.Writer) error { return encodeSBOM(w, doc, format) })
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().StringVarP(&format, "format", "f", "cyclonedx-json", fmt.Sprintf("output format: %v", sbomFormats))
	cmd.Flags().StringVarP(&out, "output", "o", "", "write to FILE (atomically) instead of stdout")
	return cmd
}

// classify maps an error to its exit code: unreadable input is 3, the
// rest internal.
func classify(err error) error {
	var ie *image.InputError
	if errors.As(err, &ie) {
		return withCode(exitInput, err)
	}
	return withCode(exitInternal, err)
}

// writeOutput writes to stdout, or to FILE through a temp file renamed
// into place, so a crash never leaves half a report.
func writeOutput(cmd *cobra.Command, out string, write func(io.Writer) error) error {
	if out == "" || out == "-" {
		return write(cmd.OutOrStdout())
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return withCode(exitInternal, err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return withCode(exitInternal, err)
	}
	if err := tmp.Close(); err != nil {
		return withCode(exitInternal, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return withCode(exitInternal, err)
	}
	return nil
}
