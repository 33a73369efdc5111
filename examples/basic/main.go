// Command basic is the smallest tracklink integration: a ticket shop with
// event pages, a checkout that hands the session reference to the payment
// provider, and the order webhook. Run it with
//
//	go run ./examples/basic
//
// then open http://127.0.0.1:8080/events/summer-fest?promoter=ana.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	secret := flag.String("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Standard Webhooks signing secret")
	flag.Parse()

	store := memstore.New()
	mw, err := middleware.New(middleware.Config{Store: store, Insecure: true}) // plain http on localhost
	if err != nil {
		log.Fatal(err)
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
		log.Fatal(err)
	}
	mux.Handle("POST /webhooks/orders", wh)
	log.Printf("open http://%s/events/summer-fest?promoter=ana", *addr)
	log.Fatal(http.ListenAndServe(*addr, mw.Handler(mux)))
}
