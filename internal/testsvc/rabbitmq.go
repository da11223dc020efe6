package testsvc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rabbitmqServer is Debian's server script itself, not the /usr/sbin
// wrapper that switches to the rabbitmq user.
const rabbitmqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// Rabbit is a private rabbitmq-server: its own node name, ports, epmd,
// data and cookie under a temp dir. Stop and Start make an outage; the
// data (durable queues, persistent messages) survives it.
type Rabbit struct {
	URL  string
	t    testing.TB
	dir  string
	port int
	dist int
	epmd int
	cmd  *exec.Cmd
	out  *strings.Builder
}

// RabbitMQ starts a broker for the test and returns it; it is stopped and
// its data removed when the test ends.
func RabbitMQ(t testing.TB) *Rabbit {
	t.Helper()
	if _, err := os.Stat(rabbitmqServer); err != nil {
		t.Fatal("rabbitmq-server not found: install it with `apt-get install -y rabbitmq-server` (scripts/setup.sh does)")
	}
	dir, err := os.MkdirTemp("", "stella-rabbitmq-")
	if err != nil {
		t.Fatal(err)
	}
	r := &Rabbit{t: t, dir: dir, port: FreePort(t), dist: FreePort(t), epmd: FreePort(t)}
	r.URL = fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.port)
	os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644)
	t.Cleanup(func() { r.Stop(); os.RemoveAll(dir) })
	r.Start()
	return r
}

// Start starts the broker and waits until it accepts connections.
func (r *Rabbit) Start() {
	t := r.t
	t.Helper()
	dir := r.dir
	cmd := exec.Command(rabbitmqServer)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + dir, "LANG=C.UTF-8",
		fmt.Sprintf("RABBITMQ_NODENAME=stella%d@localhost", r.port),
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", r.port),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", r.dist),
		fmt.Sprintf("ERL_EPMD_PORT=%d", r.epmd),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_MNESIA_BASE=" + filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE=" + filepath.Join(dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE=" + filepath.Join(dir, "none"),
		"RABBITMQ_PID_FILE=" + filepath.Join(dir, "pid"),
		"RABBITMQ_LOGS=" + filepath.Join(dir, "broker.log"),
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rabbitmq-server: %v", err)
	}
	r.cmd = cmd
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
			t.Fatalf("rabbitmq-server did not listen on %s within 90s:\n%s\n%s", addr, r.out.String(), log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the broker (an outage), and its epmd.
func (r *Rabbit) Stop() {
	if r.cmd == nil {
		return
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	r.cmd.Wait()
	r.cmd = nil
	// The node's own epmd daemonised out of the process group.
	exec.Command("epmd", "-port", fmt.Sprint(r.epmd), "-kill").Run()
}
