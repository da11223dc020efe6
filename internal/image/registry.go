package image

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// openRegistry resolves a tag or digest reference, selecting the platform
// from an index. Credentials come from the Docker config file (and its
// credential helpers) or from STELLA_REGISTRY_USERNAME and
// STELLA_REGISTRY_PASSWORD (or STELLA_REGISTRY_TOKEN).
func openRegistry(ctx context.Context, t Target, opts Options) (*Opened, error) {
	var nopts []name.Option
	if opts.Insecure || isLocal(t.Ref) {
		nopts = append(nopts, name.Insecure)
	}
	ref, err := name.ParseReference(t.Ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("not a registry reference, and no such file: %w", err)
	}
	plat, err := v1.ParsePlatform(opts.Platform)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", opts.Platform, err)
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keychain()),
		remote.WithPlatform(*plat),
		remote.WithUserAgent("stella"),
	}
	desc, err := remote.Get(ref, ropts...)
	if err != nil {
		return nil, err
	}
	img, err := desc.Image() // resolves an index for the platform
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	dg, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return &Opened{Target: t, Image: img, Name: ref.Name(), Digest: dg.String(), Compressed: true}, nil
}

// isLocal reports whether the reference's registry is on loopback, where
// plain HTTP is allowed without --insecure.
func isLocal(ref string) bool {
	host, _, _ := strings.Cut(ref, "/")
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// envKeychain reads credentials from the environment.
type envKeychain struct{}

func (envKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	if tok := os.Getenv("STELLA_REGISTRY_TOKEN"); tok != "" {
		return &authn.Bearer{Token: tok}, nil
	}
	u, p := os.Getenv("STELLA_REGISTRY_USERNAME"), os.Getenv("STELLA_REGISTRY_PASSWORD")
	if u != "" {
		return &authn.Basic{Username: u, Password: p}, nil
	}
	return authn.Anonymous, nil
}

// keychain is the credential chain: the environment, then the Docker
// config file and its helpers.
func keychain() authn.Keychain { return authn.NewMultiKeychain(envKeychain{}, authn.DefaultKeychain) }
