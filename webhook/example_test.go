package webhook_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/webhook"
	"github.com/tracklink/tracklink/webhook/webhooktest"
)

// A host wires the receiver for its own order events and, in its tests,
// posts signed deliveries with the test signer.
func ExampleNewHandler() {
	secret := webhooktest.NewStandardWebhookSecret() // in production: from the sender's settings
	store := memstore.New()
	wh, err := webhook.NewHandler(webhook.Config{
		Store:    store,
		Provider: webhook.MustStandardWebhooks(secret),
		Hooks: tracklink.Hooks{OnUnattributed: func(_ context.Context, a tracklink.Attribution) error {
			fmt.Printf("order %s: %d tickets, %d cents, %s\n", a.OrderID, a.Tickets, a.Revenue, a.Evidence())
			return nil
		}},
	})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(wh)
	defer srv.Close()

	body := []byte(`{"type":"order.completed","data":{"order_id":"ord_123","event":"summer-fest",
		"currency":"EUR","lines":[{"kind":"primary","ticket_type":"GA","quantity":2,"unit_amount":2500}]}}`)
	for range 2 { // the second delivery is a duplicate
		resp, err := srv.Client().Do(webhooktest.StandardWebhookRequest(srv.URL, secret, body))
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
	}
	// Output:
	// order ord_123: 2 tickets, 5000 cents, no touch
	// 200 OK
	// 200 OK
}
