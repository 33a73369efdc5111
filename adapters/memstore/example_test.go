package memstore_test

import (
	"log"

	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/middleware"
)

// memstore keeps sessions, orders and figures in process: for the demo,
// tests and a single-instance shop that may lose its figures on restart.
func ExampleNew() {
	store := memstore.New()
	mw, err := middleware.New(middleware.Config{Store: store})
	if err != nil {
		log.Fatal(err)
	}
	_ = mw // mw.Handler(mux); the webhook and report take the same store
}
