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
		sf     sourceFlags
		addr   string
		dbPath string
		dirs   []string
		opaURL string
	)
	cmd := &cobra.Command{
		Use:   "core --addr HOST:PORT",
		Short: "Serve the scanner core over gRPC (for a gateway started with --core-addr)",
		Long: `Serve the scanner core (SBOM, matching, VEX, policy) as the gRPC service
stella.core.v1.Core (api/proto/stella/core/v1/core.proto). It scans registry
references and uploaded SBOMs only: a client can never make it read the
core's own files.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if addr == "" {
				return withCode(exitUsage, errors.New("--addr is required"))
			}
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			db, err := openDB(dbPath)
			if err != nil {
				return err
			}
			defer db.Close()
			opts, err := sf.options(cmd)
			if err != nil {
				return err
			}
			opts.Progress = nil
			local := &core.Local{DB: db, Options: opts, Version: version}
			if len(dirs) > 0 || opaURL != "" {
				if local.Policy, err = evaluator(cmd, dirs, opaURL, 0); err != nil {
					return err
				}
			}
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
	sf.add(cmd.Flags())
	cmd.Flags().StringVar(&addr, "addr", "", "HOST:PORT to listen on")
	cmd.Flags().StringVar(&dbPath, "db", "", "vulnerability DB (default $STELLA_DB or the data directory's)")
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "organisation policy directory (repeatable)")
	cmd.Flags().StringVar(&opaURL, "opa-url", "", "decide with this OPA server")
	return cmd
}
