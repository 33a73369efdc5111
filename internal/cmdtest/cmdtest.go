// Package cmdtest builds a command and runs it as a child process, for the
// tests that check how the example programs start and stop: a real binary
// receiving real signals, as a terminal or a service manager sends them.
package cmdtest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Build compiles the main package in dir (relative to the test's working
// directory, "." for the package under test) into t.TempDir() and returns
// the binary's path. The binary is built with -race when the test is.
// Under -short the test is skipped: building takes a while on a cold cache.
func Build(t *testing.T, dir string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the program: skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(abs))
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, ".")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// Proc is a running program. Its standard output and error are collected
// together (Output) and logged when the test fails.
type Proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    syncBuffer
	exited chan struct{} // closed when the process has been waited for
	state  *os.ProcessState
	err    error // from cmd.Wait
}

// Start runs bin with args. When the test ends the process is killed if it
// is still running.
func Start(t *testing.T, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{t: t, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	p.cmd.WaitDelay = 5 * time.Second // output copying never outlives the process by long
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", filepath.Base(bin), p.Output())
		}
	})
	return p
}

// Output is what the program wrote so far to its standard output and error.
func (p *Proc) Output() string { return p.out.String() }

// WaitOutput waits until the output matches re and returns the first
// match's submatches. The test fails if the program exits first or ctx
// ends.
func (p *Proc) WaitOutput(ctx context.Context, re *regexp.Regexp) []string {
	p.t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := re.FindStringSubmatch(p.Output()); m != nil {
			return m
		}
		select {
		case <-tick.C:
		case <-p.exited:
			if m := re.FindStringSubmatch(p.Output()); m != nil {
				return m
			}
			p.t.Fatalf("program exited (%v) before printing %q", p.err, re)
		case <-ctx.Done():
			p.t.Fatalf("no %q in the output: %v", re, context.Cause(ctx))
		}
	}
}

// Signal sends sig to the program.
func (p *Proc) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits for the program to exit and returns how it ended. If ctx ends
// first the test fails (and the process is killed at cleanup).
func (p *Proc) Wait(ctx context.Context) *os.ProcessState {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.state
	case <-ctx.Done():
		p.t.Fatalf("program still running: %v", context.Cause(ctx))
		return nil
	}
}

// WaitHTTP waits until url answers an HTTP request (any status). The test
// fails when ctx ends first.
func WaitHTTP(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			return
		}
		last = err
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("%s never answered: %v (last error: %v)", url, context.Cause(ctx), last)
		}
	}
}

// Refused checks that nothing accepts TCP connections on addr any more.
func Refused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.Close()
		t.Errorf("%s still accepts connections", addr)
	}
}

// syncBuffer is a bytes.Buffer that a child's output and the test can use
// at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
