package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/core"
)

func init() { register(newCoreCmd) }

func newCoreCmd() *cobra.Command {
	var (
		f    coreFlags
		addr string
	)
	cmd := &cobra.Command{
		Use:   "core --addr HOST:PORT",
		Short: "Serve the scanner core over gRPC (for a gateway started with --core-addr)",
		Long: `Serve the scanner core (SBOM, matching, VEX, policy) as the gRPC service
stella.core.v1.Core (api/proto/stella/core/v1/core.proto). It scans registry
references and uploaded SBOMs only: a client can never make it read the
core's own files. Like the in-process core of ` + "`stella serve`" + `, it decides
every result with the default policy bundle plus --policy directories.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				return withCode(exitUsage, errors.New("--addr is required"))
			}
			local, closeFn, err := f.local(cmd)
			if err != nil {
				return err
			}
			defer closeFn()
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--addr %s: %w", addr, err))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "stella core listening on %s\n", l.Addr())
			if err := core.Serve(cmd.Context(), l, local, version); err != nil {
				return withCode(exitInternal, err)
			}
			return nil
		},
	}
	f.addLocal(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", "", "HOST:PORT to listen on")
	return cmd
}
