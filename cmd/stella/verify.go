package main

import (
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/release"
)

func init() { register(newVerifyCmd) }

// maxKeyFile bounds a public key file.
const maxKeyFile = 64 << 10

func newVerifyCmd() *cobra.Command {
	var key, format string
	cmd := &cobra.Command{
		Use:   "verify TARGET --key cosign.pub",
		Short: "Verify an image's cosign signature, its attestations and its SBOM referrer",
		Long: `Verify an image against an ECDSA public key (cosign.pub, as written by
'stella release keygen' or 'cosign generate-key-pair').

TARGET oci:DIR[:TAG] (an OCI layout, as 'make release' writes): every blob
of the image against its digest; the simple-signing signature (cosign's
sha256-<digest>.sig tag) and that it names this image's manifest digest;
the DSSE-signed in-toto attestations (sha256-<digest>.att: SLSA provenance
v1 and the CycloneDX SBOM) and that their subject is this digest; and that
the image's CycloneDX SBOM referrer is the attested SBOM.

A registry reference: the same, except that the image's layers are not
downloaded (its manifest and config are checked against their digests);
the SBOM referrer is found with the OCI referrers API or its tag fallback.

Prints what was verified. Exit 0 when everything verifies; 1 when
something does not (the message says what); 3 when the target or key
cannot be read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if key == "" {
				return withCode(exitUsage, errors.New("--key is required"))
			}
			if format != "text" && format != "json" {
				return withCode(exitUsage, fmt.Errorf("--format %q: want text or json", format))
			}
			pub, err := readPublicKey(key)
			if err != nil {
				return withCode(exitInput, err)
			}
			t, err := image.Parse(args[0])
			if err != nil {
				return withCode(exitInput, err)
			}
			var rep *release.Report
			switch t.Kind {
			case image.KindOCI:
				rep, err = release.VerifyLayout(t.Ref, t.Tag, pub)
			case image.KindRegistry:
				rep, err = release.VerifyRemoteAll(t.Ref, pub,
					remote.WithContext(cmd.Context()), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("stella"))
			default:
				return withCode(exitUsage, fmt.Errorf("verify %s: a %s target has no signature; give oci:DIR[:TAG] or a registry reference", args[0], t.Kind))
			}
			if err != nil {
				var ie *image.InputError
				if errors.As(err, &ie) {
					return withCode(exitInput, fmt.Errorf("verify: %w", err))
				}
				return withCode(exitFail, fmt.Errorf("verify %s: FAILED: %w", args[0], err))
			}
			if format == "json" {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
			}
			for _, l := range rep.Lines {
				fmt.Fprintln(cmd.OutOrStdout(), "verified:", l)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OK %s\n", rep.Digest)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "PEM ECDSA public key file (cosign.pub)")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "text or json")
	return cmd
}

// readPublicKey reads a PEM ECDSA public key file, bounded.
func readPublicKey(path string) (*ecdsa.PublicKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--key: %w", err)
	}
	defer f.Close()
	b := make([]byte, maxKeyFile+1)
	n, _ := io.ReadFull(f, b)
	if n > maxKeyFile {
		return nil, fmt.Errorf("--key %s: larger than %d bytes", path, maxKeyFile)
	}
	pub, err := image.ParsePublicKey(b[:n])
	if err != nil {
		return nil, fmt.Errorf("--key %s: %w", path, err)
	}
	return pub, nil
}
