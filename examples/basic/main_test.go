package main

import (
	"context"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracklink/tracklink/internal/cmdtest"
)

// TestBinaryShutdown runs the built example and stops it with each signal
// people send it: it exits 0, says so, and no longer listens.
func TestBinaryShutdown(t *testing.T) {
	bin := cmdtest.Build(t, ".")
	open := regexp.MustCompile(`open http://(127\.0\.0\.1:\d+)/events/summer-fest\?promoter=ana \(Ctrl-C to stop\)`)
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM}, // service managers, kill, docker stop
		{"SIGINT", syscall.SIGINT},   // Ctrl-C
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Generous: the machine may be busy; a hang still fails.
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			p := cmdtest.Start(t, bin, "-addr", "127.0.0.1:0")
			addr := p.WaitOutput(ctx, open)[1]
			cmdtest.WaitHTTP(ctx, t, "http://"+addr+"/events/summer-fest")

			p.Signal(tc.sig)
			if st := p.Wait(ctx); st.ExitCode() != 0 {
				t.Fatalf("exit: %v, want status 0", st)
			}
			out := p.Output()
			for _, want := range []string{"shutting down (" + tc.sig.String() + " signal received)", "stopped"} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in the log", want)
				}
			}
			cmdtest.Refused(t, addr)
		})
	}
}
