package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/release"
)

func init() {
	register(newReleaseCmd)
	register(newVerifyCmd)
}

func newReleaseCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "release", Short: "Build, sign and attest Stella's own image (used by make release)"}
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
	cmd.AddCommand(build, keygen)
	return cmd
}

func newVerifyCmd() *cobra.Command {
	var (
		key, tag, format string
	)
	cmd := &cobra.Command{
		Use:   "verify oci:DIR --key cosign.pub",
		Short: "Verify an image's signature, attestations and SBOM referrers (cosign-compatible)",
		Long: `Verify, in an OCI layout: every blob of the image against its digest; the
cosign simple-signing signature with --key; the DSSE-signed in-toto
attestations (SLSA provenance v1 and the CycloneDX SBOM) and that they name
this image; and that the CycloneDX SBOM referrer is the attested one. A
registry reference has its signature checked. Exit 0 when everything
verifies, 3 otherwise, with the first failure.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return withCode(exitUsage, errors.New("--key is required"))
			}
			kb, err := os.ReadFile(key)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--key: %w", err))
			}
			pub, err := image.ParsePublicKey(kb)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--key %s: %w", key, err))
			}
			target := args[0]
			var rep *release.Report
			if dir, ok := strings.CutPrefix(target, "oci:"); ok {
				rep, err = release.VerifyLayout(dir, tag, pub)
			} else {
				var d string
				d, err = release.VerifyRemote(target, pub)
				rep = &release.Report{Digest: d, Lines: []string{"signature of " + d + " verified with key " + release.KeyID(pub)}}
			}
			if err != nil {
				return withCode(exitInput, fmt.Errorf("verify %s: %w", target, err))
			}
			if format == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			for _, l := range rep.Lines {
				fmt.Fprintln(cmd.OutOrStdout(), "✓", l)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "PEM public key (cosign.pub)")
	cmd.Flags().StringVar(&tag, "tag", "", "image in the layout, by its ref.name (default: the first image)")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "text or json")
	return cmd
}
