package plugin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pluginv1 "github.com/stella-scan/stella/api/proto/stella/plugin/v1"
	"github.com/stella-scan/stella/pkg/pluginsdk"
)

// tail keeps the first and the last bytes a plug-in wrote to stderr (a
// Go runtime's fatal error comes first, its goroutine dump after), for
// the report.
type tail struct {
	mu         sync.Mutex
	head, last []byte
}

const tailSize = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := tailSize - len(t.head); n > 0 {
		t.head = append(t.head, p[:min(n, len(p))]...)
	}
	t.last = append(t.last, p...)
	if len(t.last) > tailSize {
		t.last = t.last[len(t.last)-tailSize:]
	}
	return len(p), nil
}

// String is the first line of the output.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	first, _, _ := bytes.Cut(bytes.TrimSpace(t.head), []byte("\n"))
	return string(first)
}

func (t *tail) contains(s string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Contains(t.head, []byte(s)) || bytes.Contains(t.last, []byte(s))
}

// call starts p in its sandbox, runs f against its connection within the
// call timeout and kills the process, whatever happened. The error says
// how the plug-in failed: it crashed, hung, ran out of memory, or
// answered with an error.
func (h *Host) call(ctx context.Context, p *Plugin, f func(ctx context.Context, conn *grpc.ClientConn) error) error {
	cmd, err := h.command(p)
	if err != nil {
		return err
	}
	stderr := &tail{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  pluginsdk.Handshake,
		Plugins:          goplugin.PluginSet{pluginsdk.PluginName: &pluginsdk.GRPCPlugin{}},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		SkipHostEnv:      true,
		StartTimeout:     h.cfg.CallTimeout,
		Stderr:           stderr,
		SyncStdout:       io.Discard,
		SyncStderr:       stderr,
		Logger:           hclog.NewNullLogger(),
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(pluginsdk.MaxMessage), grpc.MaxCallSendMsgSize(pluginsdk.MaxMessage))},
	})
	defer func() {
		// The whole process group, at once: a hung or runaway plug-in
		// gets no grace period.
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		client.Kill()
	}()
	cctx, cancel := context.WithTimeout(ctx, h.cfg.CallTimeout)
	defer cancel()
	start := make(chan error, 1)
	var conn *grpc.ClientConn
	go func() {
		rpc, err := client.Client()
		if err == nil {
			var raw any
			if raw, err = rpc.Dispense(pluginsdk.PluginName); err == nil {
				conn, _ = raw.(*grpc.ClientConn)
				if conn == nil {
					err = errors.New("not a gRPC plug-in")
				}
			}
		}
		start <- err
	}()
	select {
	case err = <-start:
	case <-cctx.Done():
		err = cctx.Err()
	}
	if err == nil {
		err = f(cctx, conn)
	}
	if err == nil {
		return nil
	}
	return h.explain(p, err, cctx, client, stderr)
}

// explain turns a failed call into what happened to the plug-in.
func (h *Host) explain(p *Plugin, err error, cctx context.Context, client *goplugin.Client, stderr *tail) error {
	if errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("plug-in %s did not answer within %s: killed", p.File, h.cfg.CallTimeout)
	}
	// A broken connection: give the process a moment to be seen exiting.
	for i := 0; i < 40 && !client.Exited() && status.Code(err) == codes.Unavailable; i++ {
		time.Sleep(25 * time.Millisecond)
	}
	switch {
	case stderr.contains("out of memory") || stderr.contains("cannot allocate memory"):
		return fmt.Errorf("plug-in %s ran out of its %d MiB of memory: killed", p.File, h.cfg.Memory>>20)
	case client.Exited():
		first := stderr.String()
		if len(first) > 300 {
			first = first[:300]
		}
		return fmt.Errorf("plug-in %s crashed: %v (stderr: %q)", p.File, err, first)
	}
	return fmt.Errorf("plug-in %s: %w", p.File, err)
}

// describe asks p what it is.
func (h *Host) describe(ctx context.Context, p *Plugin) (*pluginv1.Info, error) {
	var info *pluginv1.Info
	err := h.call(ctx, p, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		info, err = pluginv1.NewMetaClient(conn).Describe(ctx, &pluginv1.DescribeRequest{})
		return err
	})
	if err != nil {
		return nil, err
	}
	if info.ProtocolVersion != pluginsdk.ProtocolVersion {
		return nil, fmt.Errorf("plug-in %s speaks protocol %d, Stella %d", p.File, info.ProtocolVersion, pluginsdk.ProtocolVersion)
	}
	switch info.Kind {
	case pluginsdk.KindSBOMMutator, pluginsdk.KindVulnerabilityProvider, pluginsdk.KindResultSink:
	default:
		return nil, fmt.Errorf("plug-in %s: unknown kind %q", p.File, info.Kind)
	}
	if info.Name == "" || len(info.Name) > 128 || len(info.Version) > 64 {
		return nil, fmt.Errorf("plug-in %s: bad name or version in its description", p.File)
	}
	return info, nil
}

// timed runs one plug-in call and records how it ended.
func timed(run func() error) (state, msg string, ms int64) {
	t0 := time.Now()
	err := run()
	ms = time.Since(t0).Milliseconds()
	if err != nil {
		return "failed", err.Error(), ms
	}
	return "ok", "", ms
}
