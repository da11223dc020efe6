package plugin

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// LauncherArg, as the first argument of Stella's own executable, makes it
// the sandbox launcher: it applies the resource limits to itself, then
// replaces itself with the plug-in (execve keeps the limits, the UID and
// the process group it was started with).
const LauncherArg = "__stella-plugin-exec"

// RunLauncherIfRequested turns this process into the launcher when it was
// started as one; it returns otherwise. Call it first thing in main (and
// in TestMain of tests that start plug-ins).
func RunLauncherIfRequested() {
	if len(os.Args) < 2 || os.Args[1] != LauncherArg {
		return
	}
	fmt.Fprintln(os.Stderr, "stella plugin launcher:", launch(os.Args[2:]))
	os.Exit(126)
}

// launch: MEM_BYTES CPU_SECONDS NOFILE UID PATH. It returns only on
// failure. UID -1 keeps the launcher's.
func launch(args []string) error {
	if len(args) != 5 {
		return fmt.Errorf("want MEM CPU NOFILE UID PATH, got %q", args)
	}
	uid, err := strconv.Atoi(args[3])
	if err != nil {
		return fmt.Errorf("uid %q: %w", args[3], err)
	}
	var lim [3]uint64
	for i := range lim {
		v, err := strconv.ParseUint(args[i], 10, 64)
		if err != nil {
			return fmt.Errorf("limit %q: %w", args[i], err)
		}
		lim[i] = v
	}
	// RLIMIT_DATA bounds the heap (Go's runtime reserves address space it
	// never touches, so RLIMIT_AS would be the wrong knob); RLIMIT_CPU
	// ends a process that spins; no core dumps of plug-in memory.
	for _, l := range []struct {
		res int
		v   uint64
	}{{unix.RLIMIT_DATA, lim[0]}, {unix.RLIMIT_CPU, lim[1]}, {unix.RLIMIT_NOFILE, lim[2]}, {unix.RLIMIT_CORE, 0}} {
		if err := unix.Setrlimit(l.res, &unix.Rlimit{Cur: l.v, Max: l.v}); err != nil {
			return fmt.Errorf("setrlimit %d: %w", l.res, err)
		}
	}
	if uid >= 0 {
		// Drop root for good: no supplementary groups, then the group,
		// then the user (Go applies these to every thread).
		if err := syscall.Setgroups(nil); err != nil {
			return fmt.Errorf("setgroups: %w", err)
		}
		if err := syscall.Setresgid(uid, uid, uid); err != nil {
			return fmt.Errorf("setresgid %d: %w", uid, err)
		}
		if err := syscall.Setresuid(uid, uid, uid); err != nil {
			return fmt.Errorf("setresuid %d: %w", uid, err)
		}
	}
	path := args[4]
	return syscall.Exec(path, []string{path}, os.Environ())
}

// command builds the sandboxed command of one plug-in process: Stella's
// executable as launcher, the stripped environment, another UID when
// Stella runs as root, its own process group, killed if Stella dies.
// Pdeathsig survives the launcher's setuid only because the kernel resets
// it on a credential change: the launcher therefore runs as the plug-in
// for the shortest time, and the call kills the process group anyway.
func (h *Host) command(p *Plugin) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("plug-in %s: find Stella's executable for the launcher: %w", p.File, err)
	}
	c := h.cfg
	cmd := exec.Command(self, LauncherArg, strconv.FormatInt(c.Memory, 10), strconv.Itoa(c.CPUSeconds), "256", strconv.Itoa(h.uid), p.path)
	cmd.Dir = h.work
	// Only what a plug-in needs: no secrets, tokens or credentials of
	// Stella's environment reach it (go-plugin adds its handshake).
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/nonexistent",
		"TMPDIR=" + os.TempDir(),
		"GOMEMLIMIT=" + strconv.FormatInt(c.Memory*3/4, 10),
		"GOMAXPROCS=1",
	}
	if p.config != "" {
		cmd.Env = append(cmd.Env, "STELLA_PLUGIN_CONFIG="+p.config)
	}
	// The launcher (root, when Stella is) drops to the plug-in UID itself,
	// after the limits are set and before the plug-in runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}
