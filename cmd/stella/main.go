// Command stella scans container images for vulnerabilities and decides
// whether they may run. This package holds only the cobra commands: flag
// parsing and wiring; the logic lives under internal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/stella-scan/stella/internal/plugin"

	"github.com/spf13/cobra"
)

// Exit codes (../shared/DESIGN.md section 5).
const (
	exitOK       = 0
	exitFail     = 1 // the scan ran and --fail-on or the policy said fail
	exitUsage    = 2
	exitInput    = 3 // the target or a document could not be read
	exitInternal = 4
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode wraps err so that main exits with code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// commands is filled by init functions in the other files of this package,
// so that each command lives in its own file and none edits this one.
var commands []func() *cobra.Command

func register(f func() *cobra.Command) { commands = append(commands, f) }

func newRootCmd() *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "stella",
		Short:         "Container image vulnerability scanner and admission platform",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		},
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "debug logs on stderr")
	for _, f := range commands {
		root.AddCommand(f())
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return withCode(exitUsage, err) })
	return root
}

func main() {
	// Stella's executable is also the plug-in sandbox's launcher.
	plugin.RunLauncherIfRequested()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err == nil {
		os.Exit(exitOK)
	}
	fmt.Fprintln(os.Stderr, "stella:", err)
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	// cobra's own errors (unknown command, bad args) are usage errors.
	os.Exit(exitUsage)
}
