package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bridgeSpec says how to start the bridge under test.
type bridgeSpec struct {
	bin, cpus, target, upstreamURL, upstreamKey, db, logLevel string
	env                                                       []string // KEY=VALUE, from -bridge-env
}

// bridgeProc is `scim-bridge serve` running as a child process, so that its memory and CPU are its own.
type bridgeProc struct {
	cmd    *exec.Cmd
	pid    int
	base   string // SCIM base URL
	root   string // http://host:port
	token  string
	stderr *tail
	done   chan struct{}
	err    error
}

// startBridge starts the bridge on a free loopback port and waits until /healthz answers.
func startBridge(ctx context.Context, s bridgeSpec) (*bridgeProc, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	p := &bridgeProc{root: "http://" + addr, token: randomID() + randomID() + randomID() + randomID(),
		stderr: &tail{max: 64 << 10}, done: make(chan struct{})}
	p.base = p.root + "/scim/v2"
	args := []string{s.bin, "serve"}
	if s.cpus != "" {
		args = append([]string{"taskset", "-c", s.cpus}, args...)
	}
	// taskset execs the bridge, so the child's pid is the bridge's.
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Env = append(minimalEnv(),
		"SCIM_BRIDGE_TARGET="+s.target,
		"SCIM_BRIDGE_LISTEN="+addr,
		"SCIM_BRIDGE_TOKEN="+p.token,
		"SCIM_BRIDGE_DB="+s.db,
		"SCIM_BRIDGE_UPSTREAM_URL="+s.upstreamURL,
		"SCIM_BRIDGE_UPSTREAM_TOKEN="+s.upstreamKey,
		"SCIM_BRIDGE_RATE_LIMIT=0",
		// A load test deactivates people by the hundred: the mass-deprovisioning guard would hold them (503).
		"SCIM_BRIDGE_GUARD_THRESHOLD=0",
		"SCIM_BRIDGE_LOG_LEVEL="+s.logLevel,
	)
	p.cmd.Env = append(p.cmd.Env, s.env...) // last: they override the above
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	dieWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.bin, err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.root + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("the bridge stopped at start (%v):\n%s", p.err, p.stderr.String())
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("the bridge did not answer /healthz within 60 s:\n%s", p.stderr.String())
		}
	}
}

// freeLoopbackAddr is a loopback address no one listens on now, for a child process to listen on.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// minimalEnv passes on what a process needs to run, and no SCIM_BRIDGE_* setting (nor Go runtime knob) of the
// caller's environment: -bridge-env sets those.
func minimalEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *bridgeProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop asks the bridge to shut down and kills it if it has not within 30 s.
func (p *bridgeProc) stop() {
	if !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// memory reads the bridge's resident set now and its peak (VmRSS, VmHWM) in bytes.
func (p *bridgeProc) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, 0, err
	}
	return parseStatus(b)
}

func parseStatus(b []byte) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("unexpected %s line %q", k, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in /proc status")
	}
	return rss, hwm, nil
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// parseStatCPU reads utime + stime from /proc/<pid>/stat (fields 14 and 15; the command name may hold spaces).
func parseStatCPU(b []byte) time.Duration {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * time.Second / clockTicks
}

// selfCPU returns the CPU time this process (load generator and emulator) has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapInUse reads the Go heap in use from the bridge's /metrics (0 when it cannot).
func (p *bridgeProc) heapInUse() int64 {
	return p.goMemory()["go_memstats_heap_inuse_bytes"]
}

// goMemory reads the Go runtime's memory gauges from the bridge's /metrics (empty when it cannot).
func (p *bridgeProc) goMemory() map[string]int64 {
	out := map[string]int64{}
	resp, err := http.Get(p.root + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if ok && strings.HasPrefix(name, "go_memstats_") {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			out[name] = int64(f)
		}
	}
	return out
}

// tail keeps the last max bytes written to it: the bridge's log, for an error report.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
