package middleware_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
	"github.com/tracklink/tracklink/webhook"
)

// The quick start: a shop's event pages, its checkout and the order
// webhook, with every figure kept in process. The README shows the same
// wiring on Redis and PostgreSQL.
func ExampleNew() {
	store := memstore.New()

	// The session cookie's signing key: 32 random bytes, secret, the same
	// on every instance (openssl rand -hex 32).
	sessionKey := []byte(os.Getenv("TRACKLINK_SESSION_KEY"))
	events := map[string]bool{"summer-fest": true} // the shop's catalogue
	mw, err := middleware.New(middleware.Config{
		Store:       store,
		SessionKeys: [][]byte{sessionKey, nil},
		Events:      func(_ context.Context, slug string) bool { return events[slug] },
		Insecure:    true, // plain http on localhost; remove behind https
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /events/{slug}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><h1>%s</h1>", r.PathValue("slug"))
	})
	mux.HandleFunc("POST /events/{slug}/checkout", func(w http.ResponseWriter, r *http.Request) {
		v, _ := tracklink.FromContext(r.Context())
		// Hand v.Session to the payment provider with the order
		// (Stripe: client_reference_id), then redirect to its payment page.
		fmt.Fprintf(w, "session_ref=%s\n", v.Session)
	})
	wh, err := webhook.NewHandler(webhook.Config{
		Store:    store,
		Provider: webhook.MustStandardWebhooks(os.Getenv("TRACKLINK_WEBHOOK_SECRET")), // or webhook.MustStripe
	})
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("POST /webhooks/orders", wh)

	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mw.Handler(mux)))
}

func ExampleIsBot() {
	for _, ua := range []string{
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"WhatsApp/2.23.20.0 A",
		"curl/8.4.0",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/117.0.0.0 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/435.0.0.42.112;]",
	} {
		fmt.Println(middleware.IsBot(ua))
	}
	// Output:
	// true
	// true
	// true
	// false
	// false
}
