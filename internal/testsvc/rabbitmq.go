package testsvc

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rabbitmqServer is Debian's server script itself, not the /usr/sbin
// wrapper that switches to the rabbitmq user.
const rabbitmqServer = "/usr/lib/rabbitmq/bin/rabbitmq-server"

// errNoRabbit names the fix when the broker is not installed.
var errNoRabbit = errors.New("rabbitmq-server not found: install it with `apt-get install -y rabbitmq-server` (scripts/setup.sh does)")

// Rabbit is a private rabbitmq-server: its own node name, ports, epmd,
// Erlang cookie and data under a temp dir, no plug-ins. Stop and Start
// make an outage; the data (durable queues, persistent messages) survives
// it.
type Rabbit struct {
	URL string

	dir               string
	port, dist, epmdP int
	epmd              *exec.Cmd
	mu                sync.Mutex
	cmd               *exec.Cmd
	exited            chan struct{}
	out               *strings.Builder
}

// RabbitMQ starts a broker for the test and returns its amqp:// URL; the
// broker is stopped and its data removed when the test ends.
func RabbitMQ(t testing.TB) string {
	t.Helper()
	return RabbitMQBroker(t).URL
}

// RabbitMQBroker is RabbitMQ for tests that stop and start the broker.
func RabbitMQBroker(t testing.TB) *Rabbit {
	t.Helper()
	r, err := StartRabbitMQ()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// StartRabbitMQ starts a broker that the caller closes: a package shares
// one between its tests from TestMain (a broker takes seconds to boot).
func StartRabbitMQ() (*Rabbit, error) {
	if _, err := os.Stat(rabbitmqServer); err != nil {
		return nil, errNoRabbit
	}
	if _, err := exec.LookPath("epmd"); err != nil {
		return nil, errNoRabbit
	}
	dir, err := os.MkdirTemp("", "stella-rabbitmq-")
	if err != nil {
		return nil, err
	}
	r := &Rabbit{dir: dir}
	for _, p := range []*int{&r.port, &r.dist, &r.epmdP} {
		if *p, err = freePort(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	r.URL = fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", r.port)
	if err := r.prepare(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := r.startEPMD(); err != nil {
		r.Close()
		return nil, err
	}
	if err := r.Start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// appDeps matches the applications list of an Erlang .app file.
var appDeps = regexp.MustCompile(`(?s)\{\s*applications\s*,\s*\[([^\]]*)\]`)

// prepare writes a RabbitMQ home whose plugins directory holds only the
// applications the broker needs (rabbit and what it depends on): with
// all 70 packaged plug-ins on its code path the broker boots in 17-20 s
// on two busy cores, with these in about 7 s. The scripts and
// applications are symlinks to the package's.
func (r *Rabbit) prepare() error {
	libs, _ := filepath.Glob("/usr/lib/rabbitmq/lib/rabbitmq_server-*")
	if len(libs) == 0 {
		return errNoRabbit
	}
	lib := libs[len(libs)-1]
	home := filepath.Join(r.dir, "home")
	for _, d := range []string{"sbin", "plugins"} {
		if err := os.MkdirAll(filepath.Join(home, d), 0o755); err != nil {
			return err
		}
	}
	scripts, _ := filepath.Glob(filepath.Join(lib, "sbin", "*"))
	for _, s := range scripts {
		if err := os.Symlink(s, filepath.Join(home, "sbin", filepath.Base(s))); err != nil {
			return err
		}
	}
	os.Symlink(filepath.Join(lib, "escript"), filepath.Join(home, "escript"))
	apps := map[string]string{} // name -> directory
	es, err := os.ReadDir(filepath.Join(lib, "plugins"))
	if err != nil {
		return fmt.Errorf("rabbitmq plugins: %w", err)
	}
	for _, e := range es {
		if i := strings.LastIndex(e.Name(), "-"); i > 0 && e.IsDir() {
			apps[e.Name()[:i]] = filepath.Join(lib, "plugins", e.Name())
		}
	}
	need, seen := []string{"rabbit"}, map[string]bool{}
	for len(need) > 0 {
		a := need[0]
		need = need[1:]
		d, ok := apps[a]
		if !ok || seen[a] {
			continue // an OTP application, or done
		}
		seen[a] = true
		if err := os.Symlink(d, filepath.Join(home, "plugins", filepath.Base(d))); err != nil {
			return err
		}
		b, _ := os.ReadFile(filepath.Join(d, "ebin", a+".app"))
		if m := appDeps.FindSubmatch(b); m != nil {
			for _, dep := range strings.Split(string(m[1]), ",") {
				need = append(need, strings.TrimSpace(dep))
			}
		}
	}
	if !seen["rabbit"] {
		return fmt.Errorf("rabbitmq: no rabbit application under %s/plugins", lib)
	}
	return os.WriteFile(filepath.Join(r.dir, "enabled_plugins"), []byte("[].\n"), 0o644)
}

// startEPMD runs the node's own epmd in the foreground, so that it is
// this process's child (erl would otherwise daemonise one that outlives
// the test).
func (r *Rabbit) startEPMD() error {
	r.epmd = exec.Command("epmd", "-port", fmt.Sprint(r.epmdP), "-address", "127.0.0.1")
	r.epmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.epmd.Start(); err != nil {
		return fmt.Errorf("start epmd: %w", err)
	}
	return waitListen(fmt.Sprintf("127.0.0.1:%d", r.epmdP), 10*time.Second)
}

func waitListen(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", addr, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Start starts the broker (again) and waits until it accepts connections.
func (r *Rabbit) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	dir := r.dir
	cmd := exec.Command(rabbitmqServer)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + dir, "LANG=C.UTF-8",
		"RABBITMQ_SCRIPTS_DIR=" + filepath.Join(dir, "home", "sbin"),
		fmt.Sprintf("RABBITMQ_NODENAME=stella-test-%d@localhost", r.port),
		fmt.Sprintf("RABBITMQ_NODE_PORT=%d", r.port),
		fmt.Sprintf("RABBITMQ_DIST_PORT=%d", r.dist),
		fmt.Sprintf("ERL_EPMD_PORT=%d", r.epmdP),
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
		return fmt.Errorf("start rabbitmq-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)
	deadline := time.Now().Add(90 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			r.cmd, r.exited = nil, nil
			return fmt.Errorf("rabbitmq-server exited before listening on %s:\n%s\n%s", addr, r.out.String(), tail(log, 4000))
		default:
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			r.cmd, r.exited = nil, nil
			log, _ := os.ReadFile(filepath.Join(dir, "broker.log"))
			return fmt.Errorf("rabbitmq-server did not listen on %s within 90s:\n%s\n%s", addr, r.out.String(), tail(log, 4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// Stop shuts the broker down (SIGTERM: it flushes its state and stops
// cleanly, as an operator's restart does); Start brings it back with its
// data. Past 30 s it is killed.
func (r *Rabbit) Stop() { r.stop(syscall.SIGTERM) }

// Kill kills the broker at once (SIGKILL, as a crash or an OOM kill). A
// queue declared moments before may not survive it: the broker writes
// its metadata to disk lazily.
func (r *Rabbit) Kill() { r.stop(syscall.SIGKILL) }

func (r *Rabbit) stop(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	syscall.Kill(-r.cmd.Process.Pid, sig)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
	}
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL) // what is left of the group
	<-r.exited
	r.cmd, r.exited = nil, nil
}

// Close kills the broker and its epmd and removes its data.
func (r *Rabbit) Close() {
	r.Kill()
	if r.epmd != nil {
		syscall.Kill(-r.epmd.Process.Pid, syscall.SIGKILL)
		r.epmd.Wait()
		r.epmd = nil
	}
	os.RemoveAll(r.dir)
}

// Logs returns the end of the broker's log, for a failing test to show.
func (r *Rabbit) Logs() string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "broker.log"))
	return string(tail(b, 16000))
}
