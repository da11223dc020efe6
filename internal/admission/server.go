package admission

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// ServerConfig says where and with which certificate to serve.
type ServerConfig struct {
	Addr     string // HOST:PORT
	CertFile string // PEM certificate chain
	KeyFile  string // PEM private key
	Logger   *slog.Logger
}

// certLoader reloads the key pair when either file changes, so that a
// rotated Kubernetes secret (cert-manager) takes effect without a restart.
type certLoader struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	mod               time.Time
}

func (c *certLoader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	latest := time.Time{}
	for _, f := range []string{c.certFile, c.keyFile} {
		st, err := os.Stat(f)
		if err != nil {
			if c.cert != nil {
				return c.cert, nil // keep serving while a secret is swapped
			}
			return nil, err
		}
		if st.ModTime().After(latest) {
			latest = st.ModTime()
		}
	}
	if c.cert == nil || latest.After(c.mod) {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			if c.cert != nil {
				return c.cert, nil
			}
			return nil, err
		}
		c.cert, c.mod = &cert, latest
	}
	return c.cert, nil
}

// CertReloader reads certFile and keyFile now (a bad pair fails here,
// naming the files) and returns a tls.Config.GetCertificate that reloads
// them when they change.
func CertReloader(certFile, keyFile string) (func(*tls.ClientHelloInfo) (*tls.Certificate, error), error) {
	cl := &certLoader{certFile: certFile, keyFile: keyFile}
	if _, err := cl.get(nil); err != nil {
		return nil, fmt.Errorf("--tls-cert %s / --tls-key %s: %w", certFile, keyFile, err)
	}
	return cl.get, nil
}

// Mux serves the webhook at /validate (and /), and /healthz.
func Mux(h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/validate", h)
	mux.Handle("/", h)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// ListenAndServeTLS serves h over HTTPS until ctx ends, then shuts down
// gracefully. The certificate is read first so that a bad one fails at
// start, naming the file.
func ListenAndServeTLS(ctx context.Context, cfg ServerConfig, h http.Handler) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	getCert, err := CertReloader(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           Mux(h),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: getCert},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	log.Info("admission webhook listening", "addr", ln.Addr().String())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(sctx)
		if e := <-done; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
			err = e
		}
		return err
	}
}
