package main

import (
	"cmp"
	"context"
	"crypto/tls"
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

	"github.com/stella-scan/stella/internal/admission"
	"github.com/stella-scan/stella/internal/core"
	"github.com/stella-scan/stella/internal/events"
	"github.com/stella-scan/stella/internal/policy"
	"github.com/stella-scan/stella/internal/queue"
	"github.com/stella-scan/stella/internal/queue/memory"
	"github.com/stella-scan/stella/internal/queue/redisq"
	"github.com/stella-scan/stella/internal/server"
	"github.com/stella-scan/stella/internal/store"
	"github.com/stella-scan/stella/internal/store/mongo"
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
	addr, data, store, queue string
	tlsCert, tlsKey          string
	workers                  int
	jwtSecretFile, jwks      string
	issuer, audience         string
	rate, scansPerDay        int
	quotaRedis               string
	lease                    time.Duration
	admissionTimeout         time.Duration
	admissionFailOpen        bool
	core                     coreFlags
	sinks                    sinkFlags
	operatorTenant           string
	policyUpload             string
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
	fl.IntVar(&f.workers, "workers", 2, "scan workers in this process (0: none, leave the jobs to `stella worker`)")
	fl.DurationVar(&f.lease, "lease", 10*time.Minute, "how long a job may run before another worker re-claims it")
	fl.StringVar(&f.jwtSecretFile, "jwt-secret-file", "", "file holding the HS256 secret (else $STELLA_JWT_SECRET)")
	fl.StringVar(&f.jwks, "jwks", "", "JWKS file or https:// URL with the RS256/ES256 public keys")
	fl.StringVar(&f.issuer, "jwt-issuer", "", "required iss claim")
	fl.StringVar(&f.audience, "jwt-audience", "", "required aud claim")
	fl.IntVar(&f.rate, "rate-limit", 600, "API requests per minute per tenant (0: unlimited)")
	fl.IntVar(&f.scansPerDay, "scans-per-day", 0, "scans per UTC day per tenant (0: unlimited)")
	fl.StringVar(&f.quotaRedis, "quota-redis", "", "count quotas in this Redis, shared by every gateway (default: --queue when it is redis://, else in memory)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate chain (reloaded when it changes; required by the admission webhook)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fl.DurationVar(&f.admissionTimeout, "admission-timeout", admission.DefaultTimeout, "bound on one admission request at /api/admission")
	fl.BoolVar(&f.admissionFailOpen, "admission-fail-open", false, "admit workloads whose images could not be decided in time (default: deny them)")
	fl.StringVar(&f.operatorTenant, "operator-tenant", "", "tenant whose admins manage every tenant (quotas, disabled) and upload policies in the web UI")
	fl.StringVar(&f.policyUpload, "policy-upload-dir", "", "directory receiving the policies uploaded in the web UI (POST /api/policies); in force like a --policy directory")
	f.core.add(fl)
	f.sinks.add(fl)
	return cmd
}

func runServe(cmd *cobra.Command, f *serveFlags) error {
	ctx := cmd.Context()
	auth, err := f.authConfig(ctx)
	if err != nil {
		return err
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return withCode(exitUsage, errors.New("--tls-cert and --tls-key go together"))
	}
	if f.data == "" {
		f.data = defaultDataDir()
	}
	if f.queue == "" && f.workers == 0 {
		return withCode(exitUsage, errors.New("--workers 0 needs a shared queue (--queue redis://…): nobody else can take in-process jobs"))
	}

	st, err := openStore(f.store, f.data)
	if err != nil {
		return err
	}
	defer st.Close()
	jobs, err := openJobs(ctx, f.queue, f.lease)
	if err != nil {
		return err
	}
	defer jobs.close()
	if f.queue == "" {
		if err := requeuePending(ctx, st, jobs.q); err != nil {
			return err
		}
	}

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

	if err := f.addUploadDir(); err != nil {
		return err
	}
	scanner, closeCore, err := f.core.open(cmd)
	if err != nil {
		return err
	}
	defer closeCore()

	// The webhook answers only over TLS: the API server never calls plain
	// HTTP.
	var adm http.Handler
	if f.tlsCert != "" {
		adm, err = admission.NewHandler(admission.Config{Decide: coreDecider(scanner), Timeout: f.admissionTimeout, FailOpen: f.admissionFailOpen, Logger: slog.Default()})
		if err != nil {
			return withCode(exitUsage, err)
		}
	}

	hub := events.NewHub()
	srv, err := server.New(server.Config{Store: st, Queue: jobs.q, Core: scanner, Auth: auth, Quota: quota,
		Hub: hub, Publisher: jobs.publisher(hub), Admission: adm, Version: version, Logger: slog.Default(),
		Admin: adminOf(scanner, f), UI: webUI()})
	if err != nil {
		return withCode(exitUsage, err)
	}
	if jobs.events != nil {
		if err := jobs.events.Relay(ctx, hub); err != nil {
			return withCode(exitUsage, fmt.Errorf("--queue: %w", err))
		}
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("--addr %s: %w", f.addr, err))
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	scheme := "http"
	if f.tlsCert != "" {
		getCert, err := admission.CertReloader(f.tlsCert, f.tlsKey)
		if err != nil {
			ln.Close()
			return withCode(exitUsage, err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert}
		scheme = "https"
	}

	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	dispatch, err := f.sinks.open(wctx, f.data)
	if err != nil {
		return err
	}
	wg := runWorkers(wctx, f.workers, f.sinks.wrap(srv.WorkerStore(), dispatch), jobs.q, scanner, nil)

	errc := make(chan error, 1)
	go func() {
		if scheme == "https" {
			errc <- hs.ServeTLS(ln, "", "")
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	slog.Info("stella serve listening", "addr", ln.Addr().String(), "data", f.data, "workers", f.workers, "core", cmp.Or(f.core.coreAddr, "in-process"))
	fmt.Fprintf(cmd.ErrOrStderr(), "stella serve: listening on %s://%s (API description at /api/openapi.json)\n", scheme, ln.Addr())

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

// jobs is the job queue and, when it is shared (Redis), the event channel
// the processes sharing it publish on.
type jobs struct {
	q      queue.Queue
	events *events.Redis
}

// openJobs opens the queue a --queue value names: in-process when empty,
// Redis Streams (and Redis pub/sub for events) for redis://….
func openJobs(ctx context.Context, url string, lease time.Duration) (*jobs, error) {
	switch {
	case url == "":
		return &jobs{q: memory.New(lease)}, nil
	case isRedisURL(url):
		rq, err := redisq.Open(ctx, url, redisq.Options{Lease: lease})
		if err != nil {
			return nil, withCode(exitUsage, fmt.Errorf("--queue: %w", err))
		}
		ev, err := events.OpenRedis(ctx, url)
		if err != nil {
			rq.Close()
			return nil, withCode(exitUsage, fmt.Errorf("--queue: %w", err))
		}
		return &jobs{q: rq, events: ev}, nil
	}
	return nil, withCode(exitUsage, fmt.Errorf("--queue %q: want redis://… or nothing for the in-process queue", url))
}

// publisher is where this process's scan events go: Redis when the queue
// is shared (every gateway relays them), else straight to the local hub.
func (j *jobs) publisher(local *events.Hub) events.Publisher {
	if j.events != nil {
		return j.events
	}
	return local
}

func (j *jobs) close() {
	j.q.Close()
	if j.events != nil {
		j.events.Close()
	}
}

// maxRequeue bounds the scans re-queued at start.
const maxRequeue = 100000

// requeuePending rebuilds the in-process queue from the store: scans
// accepted (202) or running when the previous process stopped are queued
// again, so a restart loses none.
func requeuePending(ctx context.Context, st store.Store, q queue.Queue) error {
	p, ok := st.(store.Pending)
	if !ok {
		slog.Warn("this store cannot list unfinished scans; scans queued before the restart stay queued")
		return nil
	}
	scans, err := p.PendingScans(ctx, maxRequeue)
	if err != nil {
		return withCode(exitInternal, fmt.Errorf("re-queue unfinished scans: %w", err))
	}
	for _, s := range scans {
		if err := q.Enqueue(ctx, queue.Job{ScanID: s.ID, Tenant: s.Tenant}); err != nil {
			return withCode(exitInternal, fmt.Errorf("re-queue scan %s: %w", s.ID, err))
		}
	}
	if len(scans) > 0 {
		slog.Info("re-queued unfinished scans", "count", len(scans))
	}
	return nil
}

// runWorkers starts n workers taking jobs from q until ctx ends. A worker
// whose store or queue fails stops and reports to failed (may be nil).
func runWorkers(ctx context.Context, n int, st store.Store, q queue.Queue, scanner core.Scanner, failed func(error)) *sync.WaitGroup {
	var wg sync.WaitGroup
	host, _ := os.Hostname()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			consumer := fmt.Sprintf("%s-%d-%d", host, os.Getpid(), i)
			if err := worker.Run(ctx, st, q, consumer, core.StoredScan(scanner)); err != nil {
				slog.Error("worker stopped", "consumer", consumer, "err", err)
				if failed != nil {
					failed(err)
				}
			}
		}()
	}
	return &wg
}

// coreDecider decides an admission request's image through the scanner
// core, whose result carries the policy's verdict and reasons.
func coreDecider(s core.Scanner) admission.Decider {
	return func(ctx context.Context, image string) (admission.Decision, error) {
		res, err := s.Scan(ctx, core.Request{Image: image, Tenant: "admission"})
		if err != nil {
			return admission.Decision{}, err
		}
		d := &policy.Decision{Verdict: res.Policy.Decision, Allow: res.Policy.Decision != "fail"}
		for _, r := range res.Policy.Reasons {
			level, msg, ok := strings.Cut(r, ": ")
			if !ok {
				level, msg = "deny", r
			}
			reason := policy.Reason{Level: level, Msg: msg}
			if level == "warn" {
				d.Warn = append(d.Warn, reason)
			} else {
				d.Deny = append(d.Deny, reason)
			}
		}
		dig := ""
		if res.Image != nil {
			dig = res.Image.Digest
		}
		return admission.Decision{Digest: dig, Policy: d}, nil
	}
}

// openMongoStore opens the MongoDB store (database from the URL path,
// "stella" by default); mongo.Open bounds the connect time and keeps the
// password out of its errors.
func openMongoStore(url string) (store.Store, error) {
	s, err := mongo.Open(context.Background(), url)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("--store: %w", err))
	}
	return s, nil
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
	return nil, withCode(exitUsage, fmt.Errorf("--store %q: want sqlite (default) or mongodb://…", redact(url)))
}

// addUploadDir makes --policy-upload-dir one of the policy directories
// in force.
func (f *serveFlags) addUploadDir() error {
	if f.policyUpload == "" {
		return nil
	}
	if f.core.opaURL != "" {
		return withCode(exitUsage, errors.New("--policy-upload-dir and --opa-url exclude each other: the OPA server holds the bundle (write it with `stella policy bundle`)"))
	}
	if f.operatorTenant == "" {
		slog.Warn("--policy-upload-dir without --operator-tenant: nobody may upload policies", "dir", f.policyUpload)
	}
	if f.core.coreAddr != "" {
		slog.Warn("--policy-upload-dir with --core-addr: uploads are written here, and the remote core applies them only if its --policy names the same directory, from its next start", "dir", f.policyUpload)
	}
	if err := os.MkdirAll(f.policyUpload, 0o755); err != nil {
		return withCode(exitUsage, fmt.Errorf("--policy-upload-dir: %w", err))
	}
	f.core.dirs = append(f.core.dirs, f.policyUpload)
	return nil
}

// adminOf exposes the in-process core's plug-ins and feeds to the admin
// pages (a remote core's are not visible from the gateway).
func adminOf(s core.Scanner, f *serveFlags) server.Admin {
	a := server.Admin{PolicyDirs: f.core.dirs, OperatorTenant: f.operatorTenant, PolicyUploadDir: f.policyUpload}
	l, ok := s.(*core.Local)
	if !ok {
		return a
	}
	// Uploaded policies decide this process's next scans at once (other
	// processes' from their next start).
	if eng, ok := l.Policy.(*policy.Engine); ok && f.policyUpload != "" {
		dirs := f.core.dirs
		if l.Plugins != nil {
			if d := l.Plugins.RegoDir(); d != "" {
				dirs = append(dirs[:len(dirs):len(dirs)], d)
			}
		}
		rp := server.NewReloadablePolicy(eng, policy.Options{Dirs: dirs})
		l.Policy, a.PolicyReload = rp, rp.Reload
	}
	if l.Plugins != nil {
		a.Plugins = func() []server.PluginInfo {
			var out []server.PluginInfo
			for _, p := range l.Plugins.Plugins() {
				out = append(out, server.PluginInfo{File: p.File, Name: p.Name, Kind: p.Kind, Version: p.Version, SHA256: p.SHA256, State: p.State, Error: p.Error})
			}
			return out
		}
	}
	a.Feeds = func(ctx context.Context) ([]server.FeedInfo, error) {
		st, err := l.DB.Status(ctx)
		if err != nil {
			return nil, err
		}
		var out []server.FeedInfo
		for _, src := range st.Sources {
			out = append(out, server.FeedInfo{Name: src.Source, LastSync: src.LastSync, Records: src.Records, AgeHours: time.Since(src.LastSync).Hours()})
		}
		return out, nil
	}
	return a
}
