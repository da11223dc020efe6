package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stella-scan/stella/internal/sink"
	"github.com/stella-scan/stella/internal/store"
)

func init() { register(newSinkWorkerCmd) }

// sinkFlags configure the result sinks of a process.
type sinkFlags struct {
	specs []string
	spool string
}

func (f *sinkFlags) add(fl *pflag.FlagSet) {
	fl.StringArrayVar(&f.specs, "sink", nil, "deliver every result to this sink (repeatable): json:dir=DIR, slack:url-file=F, splunk:url=U,token-file=F, webhook:url=U,secret-file=F, amqp:url-file=F[,queue=Q]")
	fl.StringVar(&f.spool, "spool", "", "directory results wait in until their sinks take them (default DATA/spool)")
}

// open parses the sinks and starts their dispatcher, which delivers the
// spool in the background until ctx ends; nil when no --sink is given.
func (f *sinkFlags) open(ctx context.Context, data string) (*sink.Dispatcher, error) {
	d, err := f.dispatcher(data)
	if d != nil {
		go d.Run(ctx)
	}
	return d, err
}

// dispatcher parses the sinks and opens their spool; nil when none.
func (f *sinkFlags) dispatcher(data string) (*sink.Dispatcher, error) {
	if len(f.specs) == 0 {
		return nil, nil
	}
	var sinks []sink.Sink
	for _, spec := range f.specs {
		s, err := sink.Parse(spec)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--sink: %w", err))
		}
		sinks = append(sinks, s)
	}
	if f.spool == "" {
		f.spool = filepath.Join(data, "spool")
	}
	d, err := sink.NewDispatcher(sinks, sink.Options{Spool: f.spool})
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--spool: %w", err))
	}
	return d, nil
}

// wrap makes st hand every completed scan to d.
func (f *sinkFlags) wrap(st store.Store, d *sink.Dispatcher) store.Store {
	if d == nil {
		return st
	}
	return &sink.Store{Store: st, D: d}
}

func newSinkWorkerCmd() *cobra.Command {
	var (
		f       sinkFlags
		urlFile string
		queue   string
		dataDir string
	)
	cmd := &cobra.Command{
		Use:   "sink-worker --sink SPEC… [--amqp-url-file FILE] [--queue Q]",
		Short: "Deliver results from the RabbitMQ queue to the sinks (at least once, idempotent by scan id)",
		Long: `Consume the results that ` + "`stella serve`/`stella worker`" + ` publish with
--sink amqp:… and deliver them to the sinks given with --sink.

A message is acknowledged only once every sink has taken it (a sink that
refuses it for good, such as an HTTP 400, keeps it under SPOOL/KIND-N/failed/);
otherwise it is requeued after a pause that grows with each failure, so a
sink outage loses nothing. Under --spool each sink keeps a record of the scan
ids it has, so a redelivered message (a worker killed before its ack, a
publisher that re-sent) does not reach a sink twice; workers that share the
spool directory share that record. Run several for availability.

The broker URL, with its password, comes from --amqp-url-file or
$STELLA_AMQP_URL; sink secrets come from files or the environment.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			url := os.Getenv("STELLA_AMQP_URL")
			if urlFile != "" {
				b, err := os.ReadFile(urlFile)
				if err != nil {
					return withCode(exitUsage, fmt.Errorf("--amqp-url-file: %w", err))
				}
				url = strings.TrimSpace(string(b))
			}
			if url == "" {
				return withCode(exitUsage, errors.New("give the broker URL in --amqp-url-file or $STELLA_AMQP_URL"))
			}
			if len(f.specs) == 0 {
				return withCode(exitUsage, errors.New("give at least one --sink"))
			}
			for _, s := range f.specs {
				if strings.HasPrefix(s, "amqp:") {
					return withCode(exitUsage, fmt.Errorf("--sink %s: a sink-worker delivers from the queue, not back into it", s))
				}
			}
			if dataDir == "" {
				dataDir = defaultDataDir()
			}
			d, err := f.open(ctx, dataDir) // Run: entries an operator moved back from failed/
			if err != nil {
				return err
			}
			slog.Info("stella sink-worker consuming", "queue", queue, "sinks", len(f.specs), "spool", f.spool)
			fmt.Fprintf(cmd.ErrOrStderr(), "stella sink-worker: delivering %s to %d sink(s)\n", queue, len(f.specs))
			if err := sink.Consume(ctx, url, queue, sink.ConsumeOptions{}, d.Deliver); err != nil {
				return withCode(exitInternal, err)
			}
			return nil
		},
	}
	f.add(cmd.Flags())
	cmd.Flags().StringVar(&urlFile, "amqp-url-file", "", "file holding the amqp:// URL (else $STELLA_AMQP_URL)")
	cmd.Flags().StringVar(&queue, "queue", sink.DefaultQueue, "queue to consume")
	cmd.Flags().StringVar(&dataDir, "data", "", "data directory; the spool defaults to DATA/spool ($STELLA_DATA)")
	return cmd
}
