package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	corev1 "github.com/stella-scan/stella/api/proto/stella/core/v1"
	"github.com/stella-scan/stella/internal/image"
	"github.com/stella-scan/stella/internal/report"
)

// MaxMessageSize bounds a gRPC message: an uploaded SBOM or a result with
// its SBOM and findings.
const MaxMessageSize = 256 << 20

// service adapts a Scanner to the generated gRPC interface.
type service struct {
	corev1.UnimplementedCoreServer
	s       Scanner
	version string
}

func (sv *service) Scan(ctx context.Context, in *corev1.ScanRequest) (*corev1.ScanResponse, error) {
	req := Request{ScanID: in.GetScanId(), Tenant: in.GetTenant(), Image: in.GetImage(), SBOM: in.GetSbom()}
	res, err := sv.s.Scan(ctx, req)
	if err != nil {
		if IsInputError(err) {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		if ctx.Err() != nil {
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode result of scan %s: %v", req.ScanID, err)
	}
	return &corev1.ScanResponse{ResultJson: b, Verdict: res.Policy.Decision}, nil
}

func (sv *service) Health(ctx context.Context, _ *corev1.HealthRequest) (*corev1.HealthResponse, error) {
	if err := sv.s.Health(ctx); err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	out := &corev1.HealthResponse{StellaVersion: sv.version}
	if l, ok := sv.s.(*Local); ok && l.DB != nil {
		out.DbPath = l.DB.Path()
	}
	return out, nil
}

// NewGRPCServer returns a gRPC server that serves s as stella.core.v1.Core.
func NewGRPCServer(s Scanner, version string, opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{grpc.MaxRecvMsgSize(MaxMessageSize), grpc.MaxSendMsgSize(MaxMessageSize)}, opts...)
	gs := grpc.NewServer(opts...)
	corev1.RegisterCoreServer(gs, &service{s: s, version: version})
	return gs
}

// Serve serves s on l until ctx ends, then stops gracefully.
func Serve(ctx context.Context, l net.Listener, s Scanner, version string) error {
	gs := NewGRPCServer(s, version)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			gs.GracefulStop()
		case <-done:
		}
	}()
	err := gs.Serve(l)
	close(done)
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("core on %s: %w", l.Addr(), err)
	}
	return nil
}

// Client is a Scanner that calls a `stella core` over gRPC.
type Client struct {
	addr string
	conn *grpc.ClientConn
	c    corev1.CoreClient
}

var _ Scanner = (*Client)(nil)

// Dial connects to the core at addr (HOST:PORT). The connection is made
// lazily; Health tells whether the core answers.
func Dial(addr string, opts ...grpc.DialOption) (*Client, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageSize), grpc.MaxCallSendMsgSize(MaxMessageSize)),
	}, opts...)
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("core %s: %w", addr, err)
	}
	return &Client{addr: addr, conn: conn, c: corev1.NewCoreClient(conn)}, nil
}

// Scan asks the core to scan req. An INVALID_ARGUMENT answer comes back as
// an *image.InputError, so callers classify errors the same in both modes.
func (c *Client) Scan(ctx context.Context, req Request) (*report.Result, error) {
	out, err := c.c.Scan(ctx, &corev1.ScanRequest{ScanId: req.ScanID, Tenant: req.Tenant, Image: req.Image, Sbom: req.SBOM})
	if err != nil {
		if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument {
			return nil, &image.InputError{Input: req.Target(), Err: errors.New(st.Message())}
		}
		return nil, fmt.Errorf("core %s: scan %s: %w", c.addr, req.ScanID, err)
	}
	var res report.Result
	if err := json.Unmarshal(out.GetResultJson(), &res); err != nil {
		return nil, fmt.Errorf("core %s: result of scan %s: %w", c.addr, req.ScanID, err)
	}
	return &res, nil
}

// Health calls the core's Health.
func (c *Client) Health(ctx context.Context) error {
	if _, err := c.c.Health(ctx, &corev1.HealthRequest{}); err != nil {
		return fmt.Errorf("core %s: %w", c.addr, err)
	}
	return nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }
