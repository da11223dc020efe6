package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/queue/memory"
	"github.com/stella-scan/stella/internal/queue/redisq"
	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/sqlite"
	"github.com/stella-scan/stella/internal/worker"
)

func init() { register(newServeCmd) }

// defaultDataDir: $STELLA_DATA, else $XDG_DATA_HOME/stella.
func defaultDataDir() string {
	if d := os.Getenv("STELLA_DATA"); d != "" {
		return d
	}
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		data = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(data, "stella")
}

func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

type serveFlags struct {
	addr, data, store, queue, coreAddr string
	workers                            int
	jwtSecretFile, jwks                string
	issuer, audience                   string
	rate, scansPerDay                  int
	quotaRedis                         string
	lease                              time.Duration
	// The in-process core's flags (as `stella core`).
	sf     sourceFlags
	dbPath string
	dirs   []string
	opaURL string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API gateway, with the scanner core and workers in-process by default",
		Long: `Serve the REST API (documented at /api/openapi.json), WebSocket events at
/api/events, /healthz, /readyz and Prometheus /metrics.

Scans are stored in SQLite under --data (or --store URL) and queued in
process (or in Redis Streams with --queue redis://…, shared with
` + "`stella worker`" + ` processes). With the in-process queue, serve runs its own
workers. The scanner core runs in this process unless --core-addr names a
` + "`stella core`" + `.

Auth: JWT bearer tokens — HS256 with the secret in $STELLA_JWT_SECRET or
--jwt-secret-file, RS256/ES256 with --jwks FILE|URL — with --jwt-issuer and
--jwt-audience checked; and API tokens created at POST /api/tokens. The JWT
carries the tenant and role (admin, scanner, viewer) claims.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runServe(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen on HOST:PORT")
	fl.StringVar(&f.data, "data", "", "directory of the embedded store (default $STELLA_DATA or $XDG_DATA_HOME/stella)")
	fl.StringVar(&f.store, "store", "", "scan store URL: sqlite (default, under --data) or mongodb://…")
	fl.StringVar(&f.queue, "queue", "", "job queue: empty for in-process, or redis://… (Redis Streams, shared with `stella worker`)")
	fl.StringVar(&f.coreAddr, "core-addr", "", "call the scanner core at HOST:PORT (`stella core`) instead of in-process")
	fl.IntVar(&f.workers, "workers", 2, "scan workers in this process (0: none, leave the jobs to `stella worker`)")
	fl.DurationVar(&f.lease, "lease", 10*time.Minute, "how long a job may run before another worker re-claims it")
	fl.StringVar(&f.jwtSecretFile, "jwt-secret-file", "", "file holding the HS256 secret (else $STELLA_JWT_SECRET)")
	fl.StringVar(&f.jwks, "jwks", "", "JWKS file or https:// URL with the RS256/ES256 public keys")
	fl.StringVar(&f.issuer, "jwt-issuer", "", "required iss claim")
	fl.StringVar(&f.audience, "jwt-audience", "", "required aud claim")
	fl.IntVar(&f.rate, "rate-limit", 600, "API requests per minute per tenant (0: unlimited)")
	fl.IntVar(&f.scansPerDay, "scans-per-day", 0, "scans per UTC day per tenant (0: unlimited)")
	fl.StringVar(&f.quotaRedis, "quota-redis", "", "count quotas in this Redis, shared by every gateway (default: --queue when it is redis://, else in memory)")
	f.sf.add(fl)
	fl.StringVar(&f.dbPath, "db", "", "vulnerability DB of the in-process core (default $STELLA_DB or the data directory's)")
	fl.StringArrayVar(&f.dirs, "policy", nil, "organisation policy directory, evaluated with the default bundle on every scan (repeatable)")
	fl.StringVar(&f.opaURL, "opa-url", "", "decide with this OPA server instead")
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	ctx := cmd.Context()
	auth, err := f.authConfig(ctx)
	if err != nil {
		return err
	}
	if f.data == "" {
		f.data = defaultDataDir()
	}

	st, err := openStore(f.store, f.data)
	if err != nil {
		return err
	}
	defer st.Close()

	var q queue.Queue
	if isRedisURL(f.queue) {
		rq, err := redisq.Open(ctx, f.queue, redisq.Options{Lease: f.lease})
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("--queue: %w", err))
		}
		q = rq
	} else if f.queue != "" {
		return withCode(exitUsage, fmt.Errorf("--queue %q: want redis://… or nothing for the in-process queue", f.queue))
	} else {
		q = memory.New(f.lease)
		if f.workers == 0 {
			return withCode(exitUsage, errors.New("--workers 0 needs a shared queue (--queue redis://…): nobody else can take in-process jobs"))
		}
	}
	defer q.Close()

	quota := server.QuotaConfig{RequestsPerMinute: f.rate, ScansPerDay: f.scansPerDay}
	if f.quotaRedis == "" && isRedisURL(f.queue) {
		f.quotaRedis = f.queue
	}
	if f.quotaRedis != "" {
		c, closeFn, err := server.OpenRedisCounter(ctx, f.quotaRedis)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("--quota-redis: %w", err))
		}
		defer closeFn()
		quota.Counter = c
	}

	var scanner core.Scanner
	if f.coreAddr != "" {
		c, err := core.Dial(f.coreAddr)
		if err != nil {
			return withCode(exitUsage, fmt.Errorf("--core-addr: %w", err))
		}
		defer c.Close()
		scanner = c
	} else {
		l, closeFn, err := f.localCore(cmd)
		if err != nil {
			return err
		}
		defer closeFn()
		scanner = l
	}

	srv, err := server.New(server.Config{Store: st, Queue: q, Core: scanner, Auth: auth, Quota: quota, Version: version, Logger: slog.Default()})
	if err != nil {
		return withCode(exitUsage, err)
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--addr %s: %w", f.addr, err))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}

	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	var wg sync.WaitGroup
	host, _ := os.Hostname()
	for i := range f.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			consumer := fmt.Sprintf("%s-%d-%d", host, os.Getpid(), i)
			if err := worker.Run(wctx, srv.WorkerStore(), q, consumer, core.StoredScan(scanner)); err != nil {
				slog.Error("worker stopped", "consumer", consumer, "err", err)
			}
		}()
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	slog.Info("stella serve listening", "addr", ln.Addr().String(), "data", f.data, "workers", f.workers, "core", cmp.Or(f.coreAddr, "in-process"))
	fmt.Fprintf(cmd.ErrOrStderr(), "stella serve: listening on http://%s (API description at /api/openapi.json)\n", ln.Addr())

	select {
	case <-ctx.Done():
	case err := <-errc:
		stopWorkers()
		wg.Wait()
		return withCode(exitInternal, fmt.Errorf("serve %s: %w", f.addr, err))
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = hs.Shutdown(sctx)
	stopWorkers()
	wg.Wait()
	if err != nil {
		return withCode(exitInternal, fmt.Errorf("shutdown: %w", err))
	}
	return nil
}

// localCore opens the in-process scanner core: the DB, the layer cache
// and the policy. The default bundle always runs, so every scan gets a
// verdict (pass, warn, fail).
func (f *serveFlags) localCore(cmd *cobra.Command) (*core.Local, func(), error) {
	if f.dbPath == "" {
		f.dbPath = defaultDBPath()
	}
	db, err := openDB(f.dbPath)
	if err != nil {
		return nil, nil, err
	}
	opts, err := f.sf.options(cmd)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	opts.Progress = nil
	ev, err := evaluator(cmd, f.dirs, f.opaURL, 0)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	closeFn := func() {
		if opts.Cache != nil {
			opts.Cache.Close()
		}
		db.Close()
	}
	return &core.Local{DB: db, Options: opts, Policy: ev, Version: version}, closeFn, nil
}

// openMongoStore is wired once internal/store/mongo exists.
func openMongoStore(url string) (store.Store, error) {
	return nil, withCode(exitUsage, fmt.Errorf("--store %s: the MongoDB store is not in this build yet; use the default SQLite store", redact(url)))
}

// redact hides the password of a URL in messages.
func redact(u string) string {
	if at := strings.LastIndex(u, "@"); at > 0 {
		if i := strings.Index(u, "://"); i > 0 && i < at {
			return u[:i+3] + "…@" + u[at+1:]
		}
	}
	return u
}

// authConfig reads the JWT settings; the HS256 secret only from the
// environment or a file, never from a flag value.
func (f *serveFlags) authConfig(ctx context.Context) (server.AuthConfig, error) {
	a := server.AuthConfig{Issuer: f.issuer, Audience: f.audience}
	if f.jwtSecretFile != "" {
		b, err := os.ReadFile(f.jwtSecretFile)
		if err != nil {
			return a, withCode(exitUsage, fmt.Errorf("--jwt-secret-file: %w", err))
		}
		a.HS256Secret = []byte(strings.TrimSpace(string(b)))
	} else if s := os.Getenv("STELLA_JWT_SECRET"); s != "" {
		a.HS256Secret = []byte(s)
	}
	switch {
	case strings.HasPrefix(f.jwks, "https://") || strings.HasPrefix(f.jwks, "http://"):
		j, err := server.NewJWKSURL(ctx, f.jwks, nil)
		if err != nil {
			return a, withCode(exitUsage, fmt.Errorf("--jwks: %w", err))
		}
		a.JWKS = j
	case f.jwks != "":
		ks, err := server.LoadJWKS(f.jwks)
		if err != nil {
			return a, withCode(exitUsage, fmt.Errorf("--jwks: %w", err))
		}
		a.JWKS = ks
	}
	if a.HS256Secret == nil && a.JWKS == nil {
		slog.Warn("no JWT key configured (STELLA_JWT_SECRET, --jwt-secret-file or --jwks): only existing API tokens are accepted")
	}
	return a, nil
}

// openStore opens the scan store a --store value names.
func openStore(url, data string) (store.Store, error) {
	switch {
	case url == "" || url == "sqlite" || strings.HasPrefix(url, "sqlite:"):
		dir := data
		if rest, ok := strings.CutPrefix(url, "sqlite:"); ok && rest != "" {
			dir = strings.TrimPrefix(rest, "//")
		}
		s, err := sqlite.Open(dir)
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--data %s: %w", dir, err))
		}
		return s, nil
	case strings.HasPrefix(url, "mongodb://") || strings.HasPrefix(url, "mongodb+srv://"):
		return openMongoStore(url)
	}
	return nil, withCode(exitUsage, fmt.Errorf("--store %q: want sqlite (default) or mongodb://…", url))
}
