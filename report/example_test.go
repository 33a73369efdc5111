package report_test

import (
	"context"
	"log"
	"net/http"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/report"
)

// A promoter, its link, and the organiser's JSON API and short links
// mounted on the host's mux behind its own admin check.
func ExampleNew() {
	store := memstore.New() // the same store the middleware and webhook use
	rp, err := report.New(report.Config{Store: store, BaseURL: "https://tickets.example"})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close() // ends live streams on shutdown

	ctx := context.Background()
	if _, err := rp.SavePromoter(ctx, tracklink.Promoter{Code: "ana", Name: "Ana", Events: []string{"summer-fest"}}); err != nil {
		log.Fatal(err)
	}
	log.Println(rp.PromoterLink("summer-fest", "ana")) // https://tickets.example/events/summer-fest?promoter=ana

	isAdmin := func(r *http.Request) bool { return false } // the host's own login check
	mux := http.NewServeMux()
	mux.Handle("/admin/api/", http.StripPrefix("/admin/api", rp.Handler(isAdmin)))
	mux.Handle("GET /t/{id}", rp.ShortLinkHandler())
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", mux))
}
