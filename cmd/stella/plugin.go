package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stella-scan/stella/internal/plugin"
)

func init() { register(newPluginCmd) }

// pluginFlags choose the plug-in directory and its allow-list.
type pluginFlags struct {
	dir, allowFile string
}

func (f *pluginFlags) add(fl *pflag.FlagSet) {
	fl.StringVar(&f.dir, "plugin-dir", "", "plug-in directory, read once at start (default $STELLA_PLUGIN_DIR or "+plugin.DefaultDir+")")
	fl.StringVar(&f.allowFile, "plugin-allow", "", "file of allowed plug-in SHA-256 digests, one per line: any other plug-in is refused")
}

// open discovers the plug-ins.
func (f *pluginFlags) open(ctx context.Context) (*plugin.Host, error) {
	cfg := plugin.Config{Dir: f.dir}
	if cfg.Dir == "" {
		cfg.Dir = os.Getenv("STELLA_PLUGIN_DIR")
	}
	if cfg.Dir == "" {
		cfg.Dir = plugin.DefaultDir
	}
	if f.allowFile != "" {
		allow, err := readAllowList(f.allowFile)
		if err != nil {
			return nil, withCode(exitUsage, err)
		}
		cfg.Allow = allow
	}
	h, err := plugin.Open(ctx, cfg)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--plugin-dir: %w", err))
	}
	return h, nil
}

// readAllowList reads digests (sha256:HEX or HEX), one per line; # starts
// a comment.
func readAllowList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--plugin-allow: %w", err)
	}
	allow := []string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		hex := strings.TrimPrefix(strings.ToLower(line), "sha256:")
		if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("--plugin-allow %s:%d: %q is not a SHA-256 digest", path, n, line)
		}
		allow = append(allow, hex)
	}
	return allow, nil
}

func newPluginCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "plugin", Short: "Inspect plug-ins"}
	var (
		f      pluginFlags
		format string
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List the plug-ins of the plug-in directory: name, kind, version, digest and state",
		Long: `Discover the plug-in directory as ` + "`stella serve`" + ` does at start: hash every
plug-in, check the allow-list, start each one in its sandbox and ask what it
is. States: ready, refused (not on the allow-list), broken (could not be
started or described).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer h.Close()
			ps := h.Plugins()
			if format == "json" {
				if ps == nil {
					ps = []plugin.Plugin{}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(ps)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tVERSION\tSHA256\tSTATE\tFILE")
			for _, p := range ps {
				state := p.State
				if p.Error != "" {
					state += ": " + p.Error
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Kind, p.Version, p.SHA256, state, p.File)
			}
			return w.Flush()
		},
	}
	f.add(list.Flags())
	list.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.AddCommand(list)
	return cmd
}
