package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracklink/tracklink/internal/cmdtest"
)

// These tests run the demo as people do, a built binary stopped by a
// signal, and check that it stops cleanly: exit status 0, port closed,
// even with a live dashboard stream open (an open stream would keep
// http.Server.Shutdown waiting if nothing closed it).

// shopURL finds the shop's address in the start-up banner.
var shopURL = regexp.MustCompile(`shop: +http://(127\.0\.0\.1:\d+)/`)

// startBinary runs the built demo on a free loopback port and returns its
// host:port once it answers HTTP.
func startBinary(ctx context.Context, t *testing.T, bin string, args ...string) (*cmdtest.Proc, string) {
	t.Helper()
	args = append([]string{"-addr", "127.0.0.1:0", "-admin-password", testPassword, "-seed-days", "2"}, args...)
	p := cmdtest.Start(t, bin, args...)
	addr := p.WaitOutput(ctx, shopURL)[1]
	cmdtest.WaitHTTP(ctx, t, "http://"+addr+"/")
	if !strings.Contains(p.Output(), "Press Ctrl-C to stop") {
		t.Error("the start-up banner does not say how to stop the demo")
	}
	return p, addr
}

// openStream logs into the dashboard and opens its live stream. It returns
// once the stream's first bytes arrived; the returned channel receives
// the error that ended the stream (io.EOF when the server closed it).
func openStream(ctx context.Context, t *testing.T, addr string) <-chan error {
	t.Helper()
	base := "http://" + addr
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	form := url.Values{"password": {testPassword}, "next": {"/admin/promoters"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}

	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, base+"/admin/api/stream", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		resp.Body.Close()
		t.Fatalf("stream: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, ": tracklink live feed") {
		resp.Body.Close()
		t.Fatalf("stream's first line %q, %v", line, err)
	}
	ended := make(chan error, 1)
	go func() {
		defer resp.Body.Close()
		_, err := io.Copy(io.Discard, r)
		if err == nil {
			err = io.EOF
		}
		ended <- err
	}()
	return ended
}

func TestBinaryShutdown(t *testing.T) {
	bin := cmdtest.Build(t, ".")
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM}, // service managers, kill, docker stop
		{"SIGINT", syscall.SIGINT},   // Ctrl-C
	} {
		t.Run(tc.name, func(t *testing.T) { testStopsOnSignal(t, bin, tc.sig) })
	}
	t.Run("second signal", func(t *testing.T) { testSecondSignal(t, bin) })
}

// testStopsOnSignal stops the demo with sig while a dashboard stream is
// open: the stream ends, the process exits 0 and logs why and when.
func testStopsOnSignal(t *testing.T, bin string, sig syscall.Signal) {
	// Generous: the machine may be busy; a hang still fails.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	p, addr := startBinary(ctx, t, bin)
	stream := openStream(ctx, t, addr)

	p.Signal(sig)
	select {
	case err := <-stream:
		if err != io.EOF {
			t.Errorf("stream ended with %v, want the server to close it", err)
		}
	case <-ctx.Done():
		t.Fatal("the live stream stayed open after the signal")
	}
	st := p.Wait(ctx)
	if st.ExitCode() != 0 {
		t.Fatalf("exit: %v, want status 0", st)
	}
	out := p.Output()
	for _, want := range []string{"shutting down", sig.String() + " signal received", "stopped"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in the log", want)
		}
	}
	cmdtest.Refused(t, addr)
}

// testSecondSignal: a second signal while a graceful stop waits for a
// request ends the process at once instead of waiting -shutdown-timeout.
func testSecondSignal(t *testing.T, bin string) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// A timeout longer than the test's deadline: only the second signal
	// can end the process in time.
	p, addr := startBinary(ctx, t, bin, "-shutdown-timeout", "1h")

	// A webhook delivery that announces a body and never sends it keeps
	// its handler reading, so Shutdown waits for it. The server answers
	// "100 Continue" when the handler starts reading: from then on the
	// request is in flight.
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	_, err = io.WriteString(conn, "POST /webhooks/orders HTTP/1.1\r\nHost: "+addr+"\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 100 ") {
		t.Fatalf("want 100 Continue, got %q, %v", status, err)
	}

	p.Signal(syscall.SIGTERM)
	p.WaitOutput(ctx, regexp.MustCompile("shutting down"))
	p.Signal(syscall.SIGTERM)
	st := p.Wait(ctx)
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("exit: %v, want killed by the second SIGTERM", st)
	}
	if strings.Contains(p.Output(), "stopped") {
		t.Error(`logged "stopped" although the request was still in flight`)
	}
	cmdtest.Refused(t, addr)
}
