package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/feed"
	_ "github.com/stella-scan/stella/internal/feed/all" // every connector
	"github.com/stella-scan/stella/internal/vulndb"
)

func init() { register(newDBCmd) }

// defaultDBPath: $STELLA_DB, else $XDG_DATA_HOME/stella/db/stella.db,
// else ~/.local/share/stella/db/stella.db (DESIGN.md section 4).
func defaultDBPath() string {
	if p := os.Getenv("STELLA_DB"); p != "" {
		return p
	}
	if d := os.Getenv("STELLA_DATA"); d != "" {
		return filepath.Join(d, "db", "stella.db")
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		data = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(data, "stella", "db", "stella.db")
}

func newDBCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "db", Short: "Build and inspect the vulnerability database"}
	cmd.AddCommand(newDBSyncCmd(), newDBStatusCmd(), newDBSourcesCmd())
	return cmd
}

func newDBSyncCmd() *cobra.Command {
	var (
		sources []string
		mirror  string
		dbPath  string
		full    bool
	)
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fetch the feeds and merge them into the DB (incremental unless --full)",
		Long: `Fetch every source (or those named with --source) from its public endpoint,
or from a mirror directory laid out as DIR/<source>/…, and merge them into
the DB. The new DB is built beside the old one and swapped in atomically:
an error or an interruption leaves the old DB as it was.
NVD_API_KEY (environment) raises NVD's rate limit.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cs []feed.Connector
			if len(sources) == 0 {
				cs = feed.All()
			}
			for _, name := range sources {
				c, err := feed.Lookup(name)
				if err != nil {
					return withCode(exitUsage, err)
				}
				cs = append(cs, c)
			}
			if mirror != "" {
				if st, err := os.Stat(mirror); err != nil || !st.IsDir() {
					return withCode(exitInput, fmt.Errorf("mirror %s is not a directory", mirror))
				}
			}
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			stderr := cmd.ErrOrStderr()
			tty := false
			if f, ok := stderr.(*os.File); ok {
				tty = isatty.IsTerminal(f.Fd())
			}
			opts := vulndb.SyncOptions{
				Path:       dbPath,
				Connectors: cs,
				Source:     feed.Source{Mirror: mirror, APIKey: os.Getenv("NVD_API_KEY")},
				Full:       full,
			}
			if tty {
				opts.Progress = func(source string, n int) { fmt.Fprintf(stderr, "\r\033[K%s: %d records", source, n) }
			}
			start := time.Now()
			rep, err := vulndb.Sync(cmd.Context(), opts)
			if tty {
				fmt.Fprint(stderr, "\r\033[K")
			}
			problems := 0
			if rep != nil {
				for _, s := range rep.Sources {
					for _, p := range s.Problems {
						fmt.Fprintf(stderr, "warning: %s\n", p.Error())
					}
					problems += len(s.Problems)
				}
			}
			if err != nil {
				var he *feed.HTTPError
				if errors.As(err, &he) || errors.Is(err, os.ErrNotExist) {
					return withCode(exitInput, err)
				}
				if cmd.Context().Err() != nil {
					return withCode(exitInternal, fmt.Errorf("interrupted: %w", err))
				}
				return withCode(exitInput, err)
			}
			out := cmd.OutOrStdout()
			for _, s := range rep.Sources {
				mode := "full"
				if !s.Since.IsZero() {
					mode = "since " + s.Since.Format(time.RFC3339)
				}
				fmt.Fprintf(out, "%-8s %8d records  %3d problems  %s  (%s)\n", s.Source, s.Records, len(s.Problems), s.Duration.Round(time.Millisecond), mode)
			}
			fmt.Fprintf(out, "DB %s updated in %s", dbPath, time.Since(start).Round(time.Millisecond))
			if problems > 0 {
				fmt.Fprintf(out, "; %d documents could not be read (listed on stderr)", problems)
			}
			fmt.Fprintln(out)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&sources, "source", nil, "source to sync (repeatable; default all, see `stella db sources`)")
	cmd.Flags().StringVar(&mirror, "mirror", "", "read feeds from DIR/<source>/… instead of the network")
	cmd.Flags().StringVar(&dbPath, "db", "", "DB file (default $STELLA_DB or $XDG_DATA_HOME/stella/db/stella.db)")
	cmd.Flags().BoolVar(&full, "full", false, "rebuild from scratch, ignoring incremental state")
	return cmd
}

func newDBStatusCmd() *cobra.Command {
	var dbPath string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the DB's freshness per source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dbPath == "" {
				dbPath = defaultDBPath()
			}
			db, err := vulndb.Open(dbPath)
			if err != nil {
				return withCode(exitInput, err)
			}
			defer db.Close()
			st, err := db.Status(cmd.Context())
			if err != nil {
				return withCode(exitInput, fmt.Errorf("%s: %w", dbPath, err))
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "DB:          %s\nschema:      %d\nbuilt:       %s (%s ago)\nadvisories:  %d\nrecords:     %d\nKEV entries: %d\nEPSS scores: %d\n\n",
				st.Path, st.SchemaVersion, st.BuiltAt.Format(time.RFC3339), time.Since(st.BuiltAt).Round(time.Minute), st.Advisories, st.Records, st.KEV, st.EPSS)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SOURCE\tLAST SYNC\tNEWEST RECORD\tRECORDS\tPROBLEMS\tFROM")
			for _, s := range st.Sources {
				newest := "-"
				if !s.LastModified.IsZero() {
					newest = s.LastModified.Format("2006-01-02")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", s.Source, s.LastSync.Format(time.RFC3339), newest, s.Records, s.Problems, s.Origin)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "", "DB file (default $STELLA_DB or $XDG_DATA_HOME/stella/db/stella.db)")
	return cmd
}

func newDBSourcesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sources",
		Short: "List every feed connector with its URL, format and licence",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tURL\tFORMAT\tLICENCE")
			for _, c := range feed.All() {
				i := c.Info()
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name(), i.URL, i.Format, i.License)
			}
			return tw.Flush()
		},
	}
}
