// Command basic is the smallest tracklink integration: a ticket shop with
// event pages, a checkout that hands the session reference to the payment
// provider, and the order webhook. Run it with
//
//	go run ./examples/basic
//
// then open http://127.0.0.1:8080/events/summer-fest?promoter=ana.
// Ctrl-C (SIGINT) or SIGTERM stops it gracefully: requests in flight
// finish, for at most 10 seconds; a second signal stops it at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	secret := flag.String("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Standard Webhooks signing secret")
	flag.Parse()

	store := memstore.New()
	events := map[string]bool{"summer-fest": true, "jazz-night": true} // the shop's catalogue
	mw, err := middleware.New(middleware.Config{
		Store:    store,
		Events:   func(_ context.Context, slug string) bool { return events[slug] },
		Insecure: true, // plain http on localhost
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) {
		v, _ := tracklink.FromContext(r.Context())
		fmt.Fprintf(w, "<h1>%s</h1><p>credited to: %s %s</p>", r.PathValue("slug"), v.Current.Channel, v.Current.Source)
	})
	mux.HandleFunc("POST /events/{slug}/checkout", func(w http.ResponseWriter, r *http.Request) {
		v, _ := tracklink.FromContext(r.Context())
		// Hand v.Session to the payment provider (Stripe: client_reference_id).
		fmt.Fprintf(w, "session_ref=%s\n", v.Session)
	})
	wh, err := webhook.NewHandler(webhook.Config{
		Store:    store,
		Provider: webhook.MustStandardWebhooks(*secret),
		Hooks: tracklink.Hooks{OnAttributed: func(_ context.Context, a tracklink.Attribution) error {
			log.Printf("order %s: %d tickets credited to %s (%s)", a.OrderID, a.Tickets, a.Touch.Key(), a.Evidence())
			return nil
		}},
	})
	if err != nil {
		return err
	}
	mux.Handle("POST /webhooks/orders", wh)

	// Catch the signals before serving, so that none arriving once the
	// shop answers kills it mid-request.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mw.Handler(mux), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Printf("open http://%s/events/summer-fest?promoter=ana (Ctrl-C to stop)", hostPort(ln.Addr()))

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	stop() // from here a second signal ends the process at once
	log.Printf("shutting down (%v)", context.Cause(ctx))
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	// Write the stamps queued while the store was slow.
	if err := mw.Close(sctx); err != nil {
		log.Print(err)
	}
	log.Print("stopped")
	return nil
}

// hostPort is the listener's address as a browser can open it: a wildcard
// host (-addr :8080) becomes the loopback one.
func hostPort(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
