// Command e2e-ui runs the web UI's browser tests (make test-ui): it builds
// a vulnerability DB from the shared feeds, starts a registry on loopback
// holding a fixture image, starts a real `stella serve` (with the UI
// embedded), mints an admin token, and runs web/e2e/run.mjs (playwright-
// core driving Debian's chromium) against it.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/stella-scan/stella/internal/testutil"
)

const secret = "e2e-ui-secret-0123456789abcdef0123456789abcdef"

func main() {
	stella := flag.String("stella", "bin/stella", "stella binary with the UI embedded")
	shared := flag.String("shared", "../shared", "shared test data")
	shots := flag.String("screenshots", "docs/screenshots", "where the tests write their screenshots")
	flag.Parse()
	log.SetFlags(0)
	// run returns instead of exiting, so that its deferred clean-up (the
	// server process, the registry, the temporary directory) always runs.
	if err := run(*stella, *shared, *shots); err != nil {
		log.Fatal(err)
	}
}

func run(stella, shared, shots string) error {
	tmp, err := os.MkdirTemp("", "stella-e2e-ui-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	db := filepath.Join(tmp, "stella.db")
	sync := exec.Command(stella, "db", "sync", "--mirror", filepath.Join(shared, "testdata", "feeds"), "--db", db)
	if out, err := sync.CombinedOutput(); err != nil {
		return fmt.Errorf("db sync: %v\n%s", err, out)
	}
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	image := strings.TrimPrefix(reg.URL, "http://") + "/shop/web:1.4.2"
	if _, err := testutil.PushLayout(filepath.Join(shared, "testdata", "images", "debian-app", "oci"), image); err != nil {
		return err
	}

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	serve := exec.Command(stella, "serve", "--addr", addr, "--data", filepath.Join(tmp, "data"), "--db", db,
		"--jwt-issuer", "https://idp.e2e", "--jwt-audience", "stella", "--cache", filepath.Join(tmp, "cache"), "--plugin-dir", filepath.Join(tmp, "plugins"),
		"--operator-tenant", "shop", "--policy-upload-dir", filepath.Join(tmp, "policies"))
	serve.Env = append(os.Environ(), "STELLA_JWT_SECRET="+secret)
	stderr, _ := serve.StderrPipe()
	if err := serve.Start(); err != nil {
		return err
	}
	defer func() { serve.Process.Kill(); serve.Wait() }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening on") {
				once = true
				close(ready)
			}
			if os.Getenv("E2E_VERBOSE") != "" {
				fmt.Fprintln(os.Stderr, "serve:", sc.Text())
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		return errors.New("stella serve did not start")
	}
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "ada@example.com", "tenant": "shop", "role": "admin",
		"iss": "https://idp.e2e", "aud": "stella", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(shots)
	node := exec.Command("node", "e2e/run.mjs")
	node.Dir = "web"
	node.Env = append(os.Environ(), "STELLA_URL=http://"+addr, "STELLA_TOKEN="+tok, "STELLA_IMAGE="+image, "STELLA_SCREENSHOTS="+abs, "STELLA_OPERATOR=1")
	node.Stdout, node.Stderr = os.Stdout, os.Stderr
	if err := node.Run(); err != nil {
		return fmt.Errorf("browser tests failed: %v", err)
	}
	return nil
}
