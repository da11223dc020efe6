package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/events"
)

func init() { register(newWorkerCmd) }

func newWorkerCmd() *cobra.Command {
	var (
		f           coreFlags
		sf          sinkFlags
		queueURL    string
		storeURL    string
		data        string
		concurrency int
		lease       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "worker --queue redis://… [--store URL | --data DIR]",
		Short: "Take scan jobs from the shared queue and run them (many per cluster)",
		Long: `Take scan jobs from the Redis Streams consumer group that ` + "`stella serve --queue`" + `
fills, scan them with the in-process core (or --core-addr), and store the
results in the same store as the gateways (--store mongodb://… or the
SQLite file under a shared --data). A worker killed mid-scan loses
nothing: its job is re-claimed by another worker after --lease and the
result is stored once. State changes are published on Redis, so every
gateway streams them on /api/events.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if !isRedisURL(queueURL) {
				return withCode(exitUsage, errors.New("--queue redis://… is required: workers share the gateways' Redis Streams queue"))
			}
			if concurrency < 1 {
				return withCode(exitUsage, fmt.Errorf("--concurrency %d: want at least 1", concurrency))
			}
			if data == "" {
				data = defaultDataDir()
			}
			st, err := openStore(storeURL, data)
			if err != nil {
				return err
			}
			defer st.Close()
			jobs, err := openJobs(ctx, queueURL, lease)
			if err != nil {
				return err
			}
			defer jobs.close()
			scanner, closeCore, err := f.open(cmd)
			if err != nil {
				return err
			}
			defer closeCore()

			wctx, stop := context.WithCancel(ctx)
			defer stop()
			dispatch, err := sf.open(wctx, data)
			if err != nil {
				return err
			}
			ws := sf.wrap(&events.Store{Store: st, Pub: jobs.events}, dispatch)
			slog.Info("stella worker started", "concurrency", concurrency, "lease", lease)
			fmt.Fprintf(cmd.ErrOrStderr(), "stella worker: taking jobs (%d at a time)\n", concurrency)
			var once sync.Once
			var failure error
			wg := runWorkers(wctx, concurrency, ws, jobs.q, scanner, func(err error) {
				once.Do(func() { failure = err; stop() })
			})
			wg.Wait()
			if failure != nil {
				return withCode(exitInternal, failure)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&queueURL, "queue", "", "the gateways' job queue (redis://…)")
	fl.StringVar(&storeURL, "store", "", "scan store URL: sqlite (under --data) or mongodb://…")
	fl.StringVar(&data, "data", "", "directory of the SQLite store shared with the gateways (default $STELLA_DATA or $XDG_DATA_HOME/stella)")
	fl.IntVar(&concurrency, "concurrency", 2, "scans run at once")
	fl.DurationVar(&lease, "lease", 10*time.Minute, "how long a job may run before another worker re-claims it")
	f.add(fl)
	sf.add(fl)
	return cmd
}
