package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/stella-scan/stella/internal/admission"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/release"
	"github.com/stella-scan/stella/internal/scan"
)

func init() { register(newAdmissionCmd) }

func newAdmissionCmd() *cobra.Command {
	var (
		sf          sourceFlags
		addr        string
		certFile    string
		keyFile     string
		dirs        []string
		opaURL      string
		timeout     time.Duration
		scanTimeout time.Duration
		failOpen    bool
		dbPath      string
		sigKey      string
	)
	cmd := &cobra.Command{
		Use:   "admission --addr HOST:PORT --tls-cert FILE --tls-key FILE [--policy DIR]",
		Short: "Serve the Kubernetes validating admission webhook over HTTPS",
		Long: `Serve a ValidatingAdmissionWebhook (AdmissionReview v1) at /validate for
Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and
ReplicationControllers: every container, init container and ephemeral
container image is scanned (or taken from the cache per digest) and decided
by the policy. A workload is denied when any image's verdict is fail.

--timeout bounds one request (keep it below the webhook's timeoutSeconds);
an image not decided in time is denied, or admitted with a warning under
--fail-open. The scan goes on after a timeout and fills the cache for the
API server's retry. The certificate files are reloaded when they change.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" || certFile == "" || keyFile == "" {
				return withCode(exitUsage, errors.New("--addr, --tls-cert and --tls-key are required"))
			}
			ev, err := evaluator(cmd, dirs, opaURL, 0)
			if err != nil {
				return err
			}
			opts, err := sf.options(cmd)
			if err != nil {
				return err
			}
			opts.Progress = nil
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			db, err := openDB(dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			var pub *ecdsa.PublicKey
			if sigKey != "" {
				var err error
				if pub, err = readPublicKey(sigKey); err != nil {
					return withCode(exitUsage, fmt.Errorf("--require-signature-key: %w", err))
				}
			}
			decide := scanDecider(scan.ScanOptions{Options: opts, DB: db, StellaVersion: version}, ev, pub)
			h, err := admission.NewHandler(admission.Config{Decide: decide, Timeout: timeout, ScanTimeout: scanTimeout, FailOpen: failOpen, Logger: slog.Default()})
			if err != nil {
				return withCode(exitUsage, err)
			}
			err = admission.ListenAndServeTLS(cmd.Context(), admission.ServerConfig{Addr: addr, CertFile: certFile, KeyFile: keyFile, Logger: slog.Default()}, h)
			if err != nil {
				return withCode(exitInput, err)
			}
			return nil
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", ":8443", "HOST:PORT to listen on")
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "PEM certificate (chain) the API server trusts")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "PEM private key of --tls-cert")
	cmd.Flags().StringVar(&dbPath, "db", "", "vulnerability DB (default $STELLA_DB or the data directory's)")
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "organisation policy directory (repeatable)")
	cmd.Flags().StringVar(&opaURL, "opa-url", "", "decide with this OPA server (http://HOST:PORT) running `stella policy bundle`'s output")
	cmd.Flags().DurationVar(&timeout, "timeout", admission.DefaultTimeout, "bound on one admission request")
	cmd.Flags().DurationVar(&scanTimeout, "scan-timeout", admission.DefaultScanTimeout, "bound on one image's scan")
	cmd.Flags().BoolVar(&failOpen, "fail-open", false, "admit workloads whose images could not be decided (default: deny them)")
	cmd.Flags().StringVar(&sigKey, "require-signature-key", "", "PEM public key (cosign.pub): refuse images without a valid cosign signature for it")
	return cmd
}

// scanDecider scans one image (packages and findings) and decides it.
// With pub, the image's cosign signature is checked first: an image
// without a valid one is decided without being scanned (the built-in rule
// denies it), and a signed one is scanned by the digest that was signed.
func scanDecider(opts scan.ScanOptions, ev policy.Evaluator, pub *ecdsa.PublicKey) admission.Decider {
	return func(ctx context.Context, img string) (admission.Decision, error) {
		var sig *policy.Signature
		if pub != nil {
			sig = &policy.Signature{Required: true, Key: release.KeyID(pub)}
			dig, err := release.VerifyRemote(img, pub, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("stella"))
			var ie *image.InputError
			if errors.As(err, &ie) {
				// The image could not be read at all: undecided, so
				// --fail-open (or the default, deny) applies.
				return admission.Decision{}, err
			}
			if err != nil {
				sig.Error = err.Error()
				in := policy.Input{Image: policy.Image{Name: img, Signature: sig}}
				d, err := ev.Evaluate(ctx, &in)
				if err != nil {
					return admission.Decision{}, err
				}
				return admission.Decision{Policy: d}, nil
			}
			sig.Verified = true
			if r, err := name.ParseReference(img); err == nil {
				img = r.Context().Digest(dig).String()
			}
		}
		res, err := scan.Scan(ctx, img, opts)
		if err != nil {
			return admission.Decision{}, err
		}
		in := policy.FromResult(res)
		in.Image.Signature = sig
		d, err := ev.Evaluate(ctx, &in)
		if err != nil {
			return admission.Decision{}, err
		}
		dig := ""
		if res.Image != nil {
			dig = res.Image.Digest
		}
		return admission.Decision{Digest: dig, Policy: d}, nil
	}
}
