// Package pluginsdk is what a Stella plug-in imports: a plug-in is one Go
// function handed to ServeSBOMMutator, ServeVulnerabilityProvider or
// ServeResultSink in its main. Stella starts the plug-in as its own
// process (under its own UID, with a stripped environment and CPU, memory
// and time limits) and talks to it over hashicorp/go-plugin's gRPC
// transport with the versioned protocol in api/proto/stella/plugin/v1.
//
//	func main() {
//		pluginsdk.ServeVulnerabilityProvider(pluginsdk.Info{Name: "internal-advisories", Version: "1.0.0"},
//			func(ctx context.Context, sbom *pluginv1.SBOM) ([]*pluginv1.Finding, error) { … })
//	}
package pluginsdk

import (
	"context"
	"errors"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
)

// ProtocolVersion is the version of api/proto/stella/plugin/v1.
const ProtocolVersion = 1

// Plug-in kinds.
const (
	KindSBOMMutator           = "sbom_mutator"
	KindVulnerabilityProvider = "vulnerability_provider"
	KindResultSink            = "result_sink"
)

// Handshake is shared by Stella and its plug-ins: a binary started without
// it (by hand, say) refuses to run, and a plug-in of another protocol
// version is refused by Stella.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "STELLA_PLUGIN_COOKIE",
	MagicCookieValue: "8f1e7c52-stella-plugin-protocol",
}

// MaxMessage bounds one message either way (an SBOM of a large image).
const MaxMessage = 64 << 20

// PluginName is the one entry of go-plugin's plug-in map.
const PluginName = "stella"

// Info names a plug-in and its version.
type Info struct {
	Name    string
	Version string
}

// GRPCPlugin is the go-plugin glue. On the plug-in side it registers the
// services; on Stella's side (Register nil) it hands back the connection.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Register func(*grpc.Server)
}

// GRPCServer registers the plug-in's services.
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.Register == nil {
		return errors.New("pluginsdk: no services to serve")
	}
	p.Register(s)
	return nil
}

// GRPCClient returns the connection to the plug-in.
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

type meta struct {
	pluginv1.UnimplementedMetaServer
	info *pluginv1.Info
}

func (m meta) Describe(context.Context, *pluginv1.DescribeRequest) (*pluginv1.Info, error) {
	return m.info, nil
}

func serve(info Info, kind string, register func(*grpc.Server)) {
	pi := &pluginv1.Info{Name: info.Name, Version: info.Version, Kind: kind, ProtocolVersion: ProtocolVersion}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins: plugin.PluginSet{PluginName: &GRPCPlugin{Register: func(s *grpc.Server) {
			pluginv1.RegisterMetaServer(s, meta{info: pi})
			register(s)
		}}},
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return grpc.NewServer(append(opts, grpc.MaxRecvMsgSize(MaxMessage), grpc.MaxSendMsgSize(MaxMessage))...)
		},
	})
}

type mutator struct {
	pluginv1.UnimplementedSbomMutatorServer
	f func(context.Context, *pluginv1.SBOM) (*pluginv1.SBOM, error)
}

func (m mutator) Mutate(ctx context.Context, in *pluginv1.SBOM) (*pluginv1.SBOM, error) {
	return m.f(ctx, in)
}

// ServeSBOMMutator serves f, which receives the SBOM and returns it
// changed: packages kept by id keep their locations, new ids are added,
// missing ids are removed.
func ServeSBOMMutator(info Info, f func(ctx context.Context, sbom *pluginv1.SBOM) (*pluginv1.SBOM, error)) {
	serve(info, KindSBOMMutator, func(s *grpc.Server) { pluginv1.RegisterSbomMutatorServer(s, mutator{f: f}) })
}

type provider struct {
	pluginv1.UnimplementedVulnerabilityProviderServer
	f func(context.Context, *pluginv1.SBOM) ([]*pluginv1.Finding, error)
}

func (p provider) Provide(ctx context.Context, in *pluginv1.SBOM) (*pluginv1.Findings, error) {
	fs, err := p.f(ctx, in)
	if err != nil {
		return nil, err
	}
	return &pluginv1.Findings{Findings: fs}, nil
}

// ServeVulnerabilityProvider serves f, which receives the SBOM and returns
// findings, each naming the package it concerns by id.
func ServeVulnerabilityProvider(info Info, f func(ctx context.Context, sbom *pluginv1.SBOM) ([]*pluginv1.Finding, error)) {
	serve(info, KindVulnerabilityProvider, func(s *grpc.Server) { pluginv1.RegisterVulnerabilityProviderServer(s, provider{f: f}) })
}

type sink struct {
	pluginv1.UnimplementedResultSinkServer
	f func(context.Context, *pluginv1.ScanResult) (string, error)
}

func (s sink) Deliver(ctx context.Context, in *pluginv1.ScanResult) (*pluginv1.Ack, error) {
	receipt, err := s.f(ctx, in)
	if err != nil {
		return nil, err
	}
	return &pluginv1.Ack{Receipt: receipt}, nil
}

// ServeResultSink serves f, which receives a finished scan (its native
// JSON result) and returns a receipt once it has taken it.
func ServeResultSink(info Info, f func(ctx context.Context, result *pluginv1.ScanResult) (receipt string, err error)) {
	serve(info, KindResultSink, func(s *grpc.Server) { pluginv1.RegisterResultSinkServer(s, sink{f: f}) })
}
