package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/vulndb/kit"
)

func init() { register(newKitCmd) }

func newKitCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "kit", Short: "Offline DB kits: keygen, build, verify, import"}
	cmd.AddCommand(newKitKeygenCmd(), newKitBuildCmd(), newKitVerifyCmd(), newKitImportCmd())
	return cmd
}

func newKitKeygenCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "keygen",
		Short: "Make an Ed25519 signing key pair (kit.key, kit.pub) in --out DIR",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			priv, pub, err := kit.Keygen(out)
			if err != nil {
				return withCode(exitInput, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "private key %s (keep it secret)\npublic key  %s (give it to importers)\n", priv, pub)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory for kit.key and kit.pub")
	cmd.MarkFlagRequired("out")
	return cmd
}

func newKitBuildCmd() *cobra.Command {
	var dbPath, key, out string
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Pack and sign a DB into a kit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			m, err := kit.Build(cmd.Context(), dbPath, key, out)
			if err != nil {
				return withCode(exitInput, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kit %s: DB built %s, %d advisories, %d bytes, sha256 %s, key %s\n",
				out, m.BuiltAt.Format(time.RFC3339), m.Advisories, m.DB.Size, m.DB.SHA256, m.KeyID)
			return nil
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "", "DB file (default $STELLA_DB or $XDG_DATA_HOME/stella/db/stella.db)")
	cmd.Flags().StringVar(&key, "key", "", "private key (kit.key)")
	cmd.Flags().StringVarP(&out, "output", "o", "", "kit file to write")
	cmd.MarkFlagRequired("key")
	cmd.MarkFlagRequired("output")
	return cmd
}

func printManifest(cmd *cobra.Command, m *kit.Manifest) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "format %s, schema %d, DB built %s, %d advisories, key %s\n", m.Format, m.SchemaVersion, m.BuiltAt.Format(time.RFC3339), m.Advisories, m.KeyID)
	for _, s := range m.Sources {
		fmt.Fprintf(out, "  %-8s synced %s  %d records\n", s.Name, s.LastSync.Format(time.RFC3339), s.Records)
	}
}

func newKitVerifyCmd() *cobra.Command {
	var pub string
	cmd := &cobra.Command{
		Use:   "verify KIT",
		Short: "Check a kit's signature and digests",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := kit.Verify(cmd.Context(), args[0], pub)
			if err != nil {
				return withCode(exitInput, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kit %s: OK\n", args[0])
			printManifest(cmd, m)
			return nil
		},
	}
	cmd.Flags().StringVar(&pub, "pub", "", "public key (kit.pub)")
	cmd.MarkFlagRequired("pub")
	return cmd
}

func newKitImportCmd() *cobra.Command {
	var pub, dbPath string
	var allowOlder bool
	cmd := &cobra.Command{
		Use:   "import KIT",
		Short: "Verify a kit and install its DB atomically",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			m, err := kit.Import(cmd.Context(), args[0], pub, dbPath, allowOlder)
			if err != nil {
				if errors.Is(err, kit.ErrOlder) {
					return withCode(exitFail, err)
				}
				return withCode(exitInput, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "installed %s from %s\n", dbPath, args[0])
			printManifest(cmd, m)
			return nil
		},
	}
	cmd.Flags().StringVar(&pub, "pub", "", "public key (kit.pub)")
	cmd.Flags().StringVar(&dbPath, "db", "", "DB file (default $STELLA_DB or $XDG_DATA_HOME/stella/db/stella.db)")
	cmd.Flags().BoolVar(&allowOlder, "allow-older", false, "install a kit older than the installed DB")
	cmd.MarkFlagRequired("pub")
	return cmd
}
