package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// maxJSONBody bounds request bodies of the JSON API.
const maxJSONBody = 64 << 10

// Handler returns the HTTP API. Mount it under a prefix with
// http.StripPrefix, behind the host's admin login. Every request must pass
// authorize (nil is refused: there is no open admin by accident).
//
//	GET    /traffic/{event}?from=&to=     event traffic by source
//	GET    /links?event=                  campaign links with figures
//	POST   /links                         create a campaign link
//	DELETE /links/{id}                    delete a campaign link
//	GET    /promoters?q=&group=&offset=&limit=  promoters with figures and the summary
//	POST   /promoters                     create or update a promoter
//	GET    /promoters/{code}?from=&to=    promoter detail with daily series
//	DELETE /promoters/{code}?confirm=     delete (first call: 409 with a token)
//	GET    /groups                        group names
//	POST   /groups                        create a group {"name"}
//	PATCH  /groups/{name}                 rename {"name"}
//	DELETE /groups/{name}                 delete a group
//	GET    /orders?event=&limit=          recent orders, newest first (default 50)
//	GET    /orders.csv?event=             orders CSV export
//	GET    /stream                        Server-Sent Events of new sales
func (rp *Reporter) Handler(authorize func(*http.Request) bool) http.Handler {
	if authorize == nil {
		panic("report: Handler needs an authorize func")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /traffic/{event}", rp.apiTraffic)
	mux.HandleFunc("GET /links", rp.apiLinks)
	mux.HandleFunc("POST /links", rp.apiCreateLink)
	mux.HandleFunc("DELETE /links/{id}", rp.apiDeleteLink)
	mux.HandleFunc("GET /promoters", rp.apiPromoters)
	mux.HandleFunc("POST /promoters", rp.apiSavePromoter)
	mux.HandleFunc("GET /promoters/{code}", rp.apiPromoter)
	mux.HandleFunc("DELETE /promoters/{code}", rp.apiDeletePromoter)
	mux.HandleFunc("GET /groups", rp.apiGroups)
	mux.HandleFunc("POST /groups", rp.apiCreateGroup)
	mux.HandleFunc("PATCH /groups/{name}", rp.apiRenameGroup)
	mux.HandleFunc("DELETE /groups/{name}", rp.apiDeleteGroup)
	mux.HandleFunc("GET /orders", rp.apiRecentOrders)
	mux.HandleFunc("GET /orders.csv", rp.apiOrdersCSV)
	mux.HandleFunc("GET /stream", rp.Stream)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorize(r) {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// ShortLinkHandler serves campaign short links: GET {prefix}{id} answers
// 302 to the link's event page with its utm_* parameters. It only ever
// redirects to a path built from the stored event slug on the same host,
// so it cannot be used as an open redirect. Unknown ids get 404. It needs
// no authorisation: the links are public.
func (rp *Reporter) ShortLinkHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimPrefix(r.URL.Path, rp.cfg.ShortLinkPrefix)
		if !tracklink.ValidLinkID(id) {
			http.NotFound(w, r)
			return
		}
		l, ok, err := rp.store.Link(r.Context(), id)
		if err != nil {
			rp.fail(w, r, err)
			return
		}
		if !ok {
			http.NotFound(w, r)
			return
		}
		u := rp.CampaignURL(l)
		u = u[len(rp.cfg.BaseURL):] // same-origin path
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusFound)
	})
}

func (rp *Reporter) apiTraffic(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := rp.EventTraffic(r.Context(), r.PathValue("event"), q.Get("from"), q.Get("to"))
	rp.reply(w, r, t, err)
}

func (rp *Reporter) apiLinks(w http.ResponseWriter, r *http.Request) {
	ev := r.URL.Query().Get("event")
	if ev != "" && !tracklink.ValidEvent(ev) {
		rp.reply(w, r, nil, fmt.Errorf("%w: event slug", ErrInvalid))
		return
	}
	rows, err := rp.CampaignLinks(r.Context(), ev)
	rp.reply(w, r, rows, err)
}

func (rp *Reporter) apiCreateLink(w http.ResponseWriter, r *http.Request) {
	var l tracklink.Link
	if !rp.decode(w, r, &l) {
		return
	}
	l.ID, l.Created = "", time.Time{}
	l, err := rp.CreateLink(r.Context(), l)
	if err != nil {
		rp.reply(w, r, nil, err)
		return
	}
	w.WriteHeader(http.StatusCreated)
	rp.reply(w, r, LinkRow{Link: l, URL: rp.CampaignURL(l), ShortURL: rp.ShortURL(l)}, nil)
}

func (rp *Reporter) apiDeleteLink(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !tracklink.ValidLinkID(id) {
		rp.reply(w, r, nil, ErrNotFound)
		return
	}
	if err := rp.store.DeleteLink(r.Context(), id); err != nil {
		rp.reply(w, r, nil, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rp *Reporter) apiPromoters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	offset, err1 := intParam(q.Get("offset"), 0)
	limit, err2 := intParam(q.Get("limit"), 50)
	if err1 != nil || err2 != nil {
		rp.reply(w, r, nil, fmt.Errorf("%w: offset and limit must be whole numbers", ErrInvalid))
		return
	}
	rows, sum, err := rp.Promoters(r.Context(), Query{Search: q.Get("q"), Group: q.Get("group"), Offset: offset, Limit: limit})
	rp.reply(w, r, struct {
		Summary   Summary       `json:"summary"`
		Promoters []PromoterRow `json:"promoters"`
	}{sum, rows}, err)
}

func (rp *Reporter) apiRecentOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 50)
	if err != nil {
		rp.reply(w, r, nil, fmt.Errorf("%w: limit must be a whole number", ErrInvalid))
		return
	}
	orders, err := rp.RecentOrders(r.Context(), q.Get("event"), limit)
	if orders == nil {
		orders = []tracklink.Attribution{}
	}
	rp.reply(w, r, orders, err)
}

// intParam parses an optional query parameter.
func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	if len(s) > 9 {
		return 0, ErrInvalid
	}
	return strconv.Atoi(s)
}

func (rp *Reporter) apiSavePromoter(w http.ResponseWriter, r *http.Request) {
	var p tracklink.Promoter
	if !rp.decode(w, r, &p) {
		return
	}
	p, err := rp.SavePromoter(r.Context(), p)
	if err != nil {
		rp.reply(w, r, nil, err)
		return
	}
	links := map[string]string{}
	for _, e := range p.Events {
		links[e] = rp.PromoterLink(e, p.Code)
	}
	rp.reply(w, r, struct {
		tracklink.Promoter
		Links map[string]string `json:"links"`
	}{p, links}, nil)
}

func (rp *Reporter) apiPromoter(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := rp.PromoterDetail(r.Context(), r.PathValue("code"), q.Get("from"), q.Get("to"))
	rp.reply(w, r, d, err)
}

func (rp *Reporter) apiDeletePromoter(w http.ResponseWriter, r *http.Request) {
	token, err := rp.DeletePromoter(r.Context(), r.PathValue("code"), r.URL.Query().Get("confirm"))
	if errors.Is(err, ErrConfirmRequired) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(map[string]string{
			"error":   "deleting a promoter removes all its data for good; repeat the request with ?confirm=" + token,
			"confirm": token,
		})
		return
	}
	if err != nil {
		rp.reply(w, r, nil, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rp *Reporter) apiGroups(w http.ResponseWriter, r *http.Request) {
	g, err := rp.store.Groups(r.Context())
	if g == nil {
		g = []string{}
	}
	rp.reply(w, r, g, err)
}

func groupName(s string) (string, error) {
	g, ok := tracklink.NormalizeGroup(s)
	if !ok {
		return "", fmt.Errorf("%w: group names must be 1 to %d bytes of text", ErrInvalid, tracklink.MaxGroupLen)
	}
	return g, nil
}

func (rp *Reporter) apiCreateGroup(w http.ResponseWriter, r *http.Request) {
	var body struct{ Name string }
	if !rp.decode(w, r, &body) {
		return
	}
	name, err := groupName(body.Name)
	if err == nil {
		err = rp.store.SaveGroup(r.Context(), name)
	}
	rp.reply(w, r, map[string]string{"name": name}, err)
}

func (rp *Reporter) apiRenameGroup(w http.ResponseWriter, r *http.Request) {
	var body struct{ Name string }
	if !rp.decode(w, r, &body) {
		return
	}
	from, err := groupName(r.PathValue("name"))
	if err != nil {
		rp.reply(w, r, nil, err)
		return
	}
	to, err := groupName(body.Name)
	if err == nil {
		err = rp.store.RenameGroup(r.Context(), from, to)
	}
	rp.reply(w, r, map[string]string{"name": to}, err)
}

func (rp *Reporter) apiDeleteGroup(w http.ResponseWriter, r *http.Request) {
	name, err := groupName(r.PathValue("name"))
	if err == nil {
		err = rp.store.DeleteGroup(r.Context(), name)
	}
	if err != nil {
		rp.reply(w, r, nil, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rp *Reporter) apiOrdersCSV(w http.ResponseWriter, r *http.Request) {
	ev := r.URL.Query().Get("event")
	if ev != "" && !tracklink.ValidEvent(ev) {
		rp.reply(w, r, nil, fmt.Errorf("%w: event slug", ErrInvalid))
		return
	}
	name := "orders.csv"
	if ev != "" {
		name = "orders-" + ev + ".csv"
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	if err := rp.WriteOrdersCSV(r.Context(), w, ev); err != nil {
		// Headers are gone; all we can do is log and cut the stream.
		rp.cfg.Logger.Warn("tracklink: orders csv", "error", err)
		panic(http.ErrAbortHandler)
	}
}

// Stream serves the live feed as Server-Sent Events: an "attributed",
// "unattributed" or "refunded" event per change, with the attribution as
// JSON data, and a comment line every 15 seconds to keep proxies from
// closing the connection. It ends when the client goes away or Close is
// called (wire Close to http.Server.RegisterOnShutdown, since Shutdown
// waits for open streams otherwise). A store without a live feed (no
// tracklink.Feed, or one whose Subscribe fails with errors.ErrUnsupported)
// answers 501.
func (rp *Reporter) Stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := rp.done
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	feed, ok := rp.store.(tracklink.Feed)
	if !ok {
		jsonError(w, http.StatusNotImplemented, "the store has no live feed")
		return
	}
	changes, err := feed.Subscribe(ctx)
	if errors.Is(err, errors.ErrUnsupported) {
		jsonError(w, http.StatusNotImplemented, "the store has no live feed")
		return
	}
	if err != nil {
		rp.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, ": tracklink live feed\nretry: 3000\n\n")
	flusher.Flush()
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keepalive.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case c, ok := <-changes:
			if !ok {
				return
			}
			data, err := json.Marshal(c.Attribution)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", url.PathEscape(c.Attribution.OrderID), c.Kind, data); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// Close ends every open live stream; streams opened later end at once.
func (rp *Reporter) Close() { rp.closeOnce.Do(func() { close(rp.done) }) }

func (rp *Reporter) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "content type must be application/json", http.StatusUnsupportedMediaType)
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		rp.reply(w, r, nil, fmt.Errorf("%w: %v", ErrInvalid, err))
		return false
	}
	return true
}

// reply writes v as JSON, or err with the status it calls for.
func (rp *Reporter) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		switch {
		case errors.Is(err, tracklink.ErrInvalid): // ours or the store's
			jsonError(w, http.StatusBadRequest, err.Error())
		case errors.Is(err, tracklink.ErrConflict):
			jsonError(w, http.StatusConflict, err.Error())
		case errors.Is(err, ErrNotFound):
			jsonError(w, http.StatusNotFound, "not found")
		default:
			rp.fail(w, r, err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers a store error that a retry may cure: 503.
func (rp *Reporter) fail(w http.ResponseWriter, r *http.Request, err error) {
	rp.cfg.Logger.Warn("tracklink: report", "path", r.URL.Path, "error", err)
	w.Header().Set("Retry-After", "5")
	jsonError(w, http.StatusServiceUnavailable, "store unavailable")
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
