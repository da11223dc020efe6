package testsvc

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// FerretDBVersion is the FerretDB release the MongoDB store is tested
// against (DESIGN.md §4); scripts/ferretdb.sh builds it.
const FerretDBVersion = "v1.24.2"

// FerretDBBinary is where scripts/ferretdb.sh caches the FerretDB binary:
// ${XDG_CACHE_HOME:-$HOME/.cache}/stella-test/ferretdb-v1.24.2/ferretdb.
func FerretDBBinary() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "stella-test", "ferretdb-"+FerretDBVersion, "ferretdb")
}

// FerretDB starts FerretDB (SQLite backend, data in a temporary directory)
// on a free loopback port and returns its mongodb:// URL, without a
// database name. It waits until the server answers a MongoDB hello, and
// kills it when the test ends. A missing binary fails the test.
func FerretDB(t testing.TB) string {
	t.Helper()
	bin := FerretDBBinary()
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		t.Fatalf("FerretDB %s not found at %s: run scripts/setup.sh (builds FerretDB %s into %s via scripts/ferretdb.sh)",
			FerretDBVersion, bin, FerretDBVersion, filepath.Dir(bin))
	}
	dir := t.TempDir()
	var lastErr error
	// The free port can be taken between FreePort and the bind: retry.
	for range 3 {
		port := FreePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		out := &lockedBuffer{}
		cmd := exec.Command(bin, "--handler=sqlite", "--sqlite-url=file:"+dir+"/", "--state-dir="+dir,
			"--listen-addr="+addr, "--telemetry=disable", "--debug-addr=-", "--log-level=warn")
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("start %s: %v", bin, err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Kill()
			<-exited
		}
		if err := waitHello(addr, exited, 15*time.Second); err != nil {
			stop()
			lastErr = fmt.Errorf("%w; output:\n%s", err, out.String())
			continue
		}
		t.Cleanup(stop)
		return "mongodb://" + addr + "/"
	}
	t.Fatalf("FerretDB %s did not start: %v", bin, lastErr)
	return ""
}

// waitHello dials addr until the server answers an OP_MSG hello with a
// reply, the process exits, or the timeout passes.
func waitHello(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("ferretdb on %s exited at start", addr)
		default:
		}
		if err = hello(addr); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("ferretdb on %s did not answer within %s: %v", addr, timeout, err)
}

// hello sends {hello: 1, $db: "admin"} as an OP_MSG and checks that a
// reply of the same opcode comes back.
func hello(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	// BSON {hello: int32(1), $db: "admin"}.
	var doc []byte
	doc = append(doc, 0x10)
	doc = append(doc, "hello\x00"...)
	doc = le32(doc, 1)
	doc = append(doc, 0x02)
	doc = append(doc, "$db\x00"...)
	doc = le32(doc, int32(len("admin")+1))
	doc = append(doc, "admin\x00"...)
	doc = append(doc, 0x00)
	doc = append(le32(nil, int32(len(doc)+4)), doc...)
	body := le32(nil, 0)      // flag bits
	body = append(body, 0x00) // section kind 0: body
	body = append(body, doc...)
	msg := le32(nil, int32(16+len(body)))
	msg = le32(msg, 1)    // request id
	msg = le32(msg, 0)    // response to
	msg = le32(msg, 2013) // OP_MSG
	msg = append(msg, body...)
	if _, err := c.Write(msg); err != nil {
		return err
	}
	var hdr [16]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return fmt.Errorf("no hello reply: %w", err)
	}
	if op := int32(hdr[12]) | int32(hdr[13])<<8 | int32(hdr[14])<<16 | int32(hdr[15])<<24; op != 2013 {
		return fmt.Errorf("hello reply has opcode %d, want 2013", op)
	}
	return nil
}

func le32(b []byte, v int32) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}

// lockedBuffer collects a process's output for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil // bounded: the start of the log is what explains a failure
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
