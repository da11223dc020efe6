package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/release"
)

func init() {
	register(newReleaseCmd)
}

func newReleaseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Build, sign and attest Stella's own image (maintainers; used by make release)", Hidden: true}
	var o release.PublishOptions
	var epoch string
	build := &cobra.Command{
		Use:   "build --binary FILE --out DIR [--key cosign.key]",
		Short: "Build Stella's image without a Docker engine, scan it, attach its SBOMs, sign and attest it",
		Long: `Build Stella's own image (distroless-style: the static binary, CA
certificates, /opt/stella/plugins, user 65532, no shell) reproducibly from
--binary, as an OCI layout (DIR/stella-image) and a docker-archive
(DIR/stella-image.tar). Its CycloneDX and SPDX SBOMs are attached as OCI
referrers. With --key (an ECDSA P-256 private key file), the image is signed
in cosign's simple-signing format and its SLSA provenance v1 and SBOM are
attested as DSSE envelopes (cosign's .sig and .att tags). The last line
printed is the image digest.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Binary == "" || o.Out == "" {
				return withCode(exitUsage, errors.New("--binary and --out are required"))
			}
			if epoch == "" {
				epoch = os.Getenv("SOURCE_DATE_EPOCH")
			}
			if epoch == "" {
				return withCode(exitUsage, errors.New("--source-date-epoch (or $SOURCE_DATE_EPOCH) is required: the image's timestamps come from it"))
			}
			secs, err := strconv.ParseInt(epoch, 10, 64)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--source-date-epoch %q: %w", epoch, err))
			}
			o.Created = time.Unix(secs, 0).UTC()
			res, err := release.Publish(cmd.Context(), o)
			if err != nil {
				return withCode(exitInternal, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s and %s\n", res.Layout, res.Archive)
			fmt.Fprintln(cmd.OutOrStdout(), res.Digest)
			return nil
		},
	}
	fl := build.Flags()
	fl.StringVar(&o.Binary, "binary", "", "the static stella binary")
	fl.StringVar(&o.Out, "out", "", "output directory")
	fl.StringVar(&o.Repo, "repo", "ghcr.io/stella-scan/stella", "image name")
	fl.StringVar(&o.Version, "version", version, "version tag and label")
	fl.StringVar(&o.Commit, "commit", "", "source commit (label and provenance)")
	fl.StringVar(&o.CACerts, "ca-certs", "", "CA bundle to ship (default "+release.CACerts+")")
	fl.StringVar(&o.Key, "key", "", "ECDSA P-256 private key file to sign and attest with")
	fl.StringVar(&o.LDFlags, "ldflags", "", "linker flags of the binary (recorded in the provenance)")
	fl.StringVar(&o.Arch, "arch", "", "GOARCH of the image (default: read from the binary)")
	fl.StringVar(&epoch, "source-date-epoch", "", "seconds since 1970 for every timestamp (default $SOURCE_DATE_EPOCH)")
	keygen := &cobra.Command{
		Use:   "keygen PRIVATE PUBLIC",
		Short: "Write a new ECDSA P-256 signing key pair (cosign-compatible public key)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := os.Stat(args[0]); err == nil {
				return withCode(exitUsage, fmt.Errorf("%s exists; not overwriting a key", args[0]))
			}
			if err := release.GenerateKey(args[0], args[1]); err != nil {
				return withCode(exitInternal, err)
			}
			return nil
		},
	}
	push := &cobra.Command{
		Use:   "push DIR REPOSITORY",
		Short: "Copy a release layout (image, .sig/.att tags, SBOM referrers) to a registry",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := release.Push(cmd.Context(), strings.TrimPrefix(args[0], "oci:"), args[1],
				remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("stella"))
			if err != nil {
				return withCode(exitInput, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), args[1]+"@"+d)
			return nil
		},
	}
	cmd.AddCommand(build, keygen, push)
	return cmd
}
