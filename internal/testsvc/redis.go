// Package testsvc starts real services (redis-server, …) for tests on a
// free loopback port and stops them when the test ends. A missing service
// fails the test with the command that installs it; it never skips.
package testsvc

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis starts redis-server on a free port with the given extra config
// lines ("maxmemory 1mb", …) and returns its redis:// URL.
func Redis(t testing.TB, config ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: install it with `apt-get install -y redis-server` (scripts/setup.sh does)")
	}
	port := FreePort(t)
	args := []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir()}
	for _, c := range config {
		k, v, _ := strings.Cut(c, " ")
		args = append(args, "--"+k, v)
	}
	cmd := exec.Command(bin, args...)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				for sc.Scan() {
				}
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("redis-server did not start within 10s")
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}
