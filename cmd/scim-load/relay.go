package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// The relay is the floor of the bench's topology: an HTTP server that does nothing but pass each request to the
// emulator and its answer back, as the bridge does for a GET, with none of the bridge's own work. Run in the
// bridge's place (its own process, pinned to the bridge's CPU), it shows how much of the "bridge-added" latency
// this machine adds to any server that sits between two others: two more loopback hops and their wake-ups across
// CPUs, which the direct calls (made from the load generator's own process and CPU) never pay.

// runRelay serves `scim-load relay -listen ADDR -upstream URL` until ctx ends or the process is signalled.
func runRelay(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("scim-load relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to serve on")
	upstream := fs.String("upstream", "", "scheme and host every request is passed to, e.g. http://127.0.0.1:1234")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkBase(*upstream, false); err != nil {
		return fmt.Errorf("-upstream: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 64, 64
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	root := strings.TrimRight(*upstream, "/")
	srv := &http.Server{Addr: *listen, ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { relay(client, root, w, r) })}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// relay passes one request on and copies the answer back.
func relay(client *http.Client, root string, w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, root+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// relayProc is a relay started by the bench.
type relayProc struct {
	cmd  *exec.Cmd
	root string // http://127.0.0.1:port
	done chan struct{}
}

// startRelay runs this program as a relay to upstreamRoot, pinned to cpus (when set), and waits until it answers.
func startRelay(ctx context.Context, cpus, upstreamRoot string) (*relayProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := []string{self, "relay", "-listen", addr, "-upstream", upstreamRoot}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	p := &relayProc{cmd: exec.Command(args[0], args[1:]...), root: "http://" + addr, done: make(chan struct{})}
	p.cmd.Env = minimalEnv()
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, io.Discard
	dieWithParent(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the relay: %w", err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.done:
			return nil, errors.New("the relay stopped at start")
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, errors.New("the relay did not listen within 10 s")
		}
	}
}

func (p *relayProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}
