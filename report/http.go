package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// maxJSONBody bounds request bodies of the JSON API.
const maxJSONBody = 64 << 10

// Handler returns the HTTP API. Mount it under a prefix with
// http.StripPrefix, behind the host's admin login. Every request must pass
// authorize (nil is refused: there is no open admin by accident); a
// request it refuses gets 403 whatever its path, so the refusal does not
// tell which paths exist.
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
//
// Bodies are JSON (Content-Type application/json, at most 64 KiB, one
// object, unknown fields refused). Successes are 200, 201 for a created
// link and 204 for a deletion. Errors are a JSON object {"error": "…"}:
// 400 for invalid input (a query parameter, body or value that the store
// refuses as malformed), 403 when authorize refuses, 404 for an unknown
// promoter, link or group, 409 for a conflict (a promo code another
// promoter owns; a promoter deletion awaiting confirmation, whose body
// also has the "confirm" token), 413 for a body over the limit, 415 for
// a body that is not JSON, and 503 with Retry-After when the store fails
// (the cause is logged, not shown). A path the API does not serve gets
// http.ServeMux's plain-text 404, and a served path with another method
// its 405 with an Allow header.
func (rp *Reporter) Handler(authorize func(*http.Request) bool) http.Handler {
	if authorize == nil {
		panic("report: Handler needs an authorize func")
	}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) { rt.serve(rp, w, r) })
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorize(r) {
			jsonError(w, http.StatusForbidden, "forbidden")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// routes are the endpoints Handler serves, as listed in its comment.
var routes = []struct {
	pattern string
	serve   func(*Reporter, http.ResponseWriter, *http.Request)
}{
	{"GET /traffic/{event}", (*Reporter).apiTraffic},
	{"GET /links", (*Reporter).apiLinks},
	{"POST /links", (*Reporter).apiCreateLink},
	{"DELETE /links/{id}", (*Reporter).apiDeleteLink},
	{"GET /promoters", (*Reporter).apiPromoters},
	{"POST /promoters", (*Reporter).apiSavePromoter},
	{"GET /promoters/{code}", (*Reporter).apiPromoter},
	{"DELETE /promoters/{code}", (*Reporter).apiDeletePromoter},
	{"GET /groups", (*Reporter).apiGroups},
	{"POST /groups", (*Reporter).apiCreateGroup},
	{"PATCH /groups/{name}", (*Reporter).apiRenameGroup},
	{"DELETE /groups/{name}", (*Reporter).apiDeleteGroup},
	{"GET /orders", (*Reporter).apiRecentOrders},
	{"GET /orders.csv", (*Reporter).apiOrdersCSV},
	{"GET /stream", (*Reporter).Stream},
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
	writeJSON(w, http.StatusCreated, LinkRow{Link: l, URL: rp.CampaignURL(l), ShortURL: rp.ShortURL(l)})
}

func (rp *Reporter) apiDeleteLink(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !tracklink.ValidLinkID(id) {
		rp.reply(w, r, nil, ErrNotFound)
		return
	}
	// Stores do not mind deleting a missing link; the API says 404, as it
	// does for promoters and groups.
	_, ok, err := rp.store.Link(r.Context(), id)
	if err == nil && !ok {
		err = ErrNotFound
	}
	if err == nil {
		err = rp.store.DeleteLink(r.Context(), id)
	}
	if err != nil {
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
		writeJSON(w, http.StatusConflict, map[string]string{
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

// knownGroup checks that group name exists: stores take renaming or
// deleting a group nobody has as a no-op, which the API answers 404.
func (rp *Reporter) knownGroup(ctx context.Context, name string) error {
	gs, err := rp.store.Groups(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(gs, name) {
		return ErrNotFound
	}
	return nil
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
		err = rp.knownGroup(r.Context(), from)
	}
	if err == nil {
		err = rp.store.RenameGroup(r.Context(), from, to)
	}
	rp.reply(w, r, map[string]string{"name": to}, err)
}

func (rp *Reporter) apiDeleteGroup(w http.ResponseWriter, r *http.Request) {
	name, err := groupName(r.PathValue("name"))
	if err == nil {
		err = rp.knownGroup(r.Context(), name)
	}
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
	cw := &csvResponse{w: w, name: name}
	if err := rp.WriteOrdersCSV(r.Context(), cw, ev); err != nil {
		if !cw.started {
			rp.reply(w, r, nil, err) // nothing sent yet: a proper error
			return
		}
		// Headers are gone; all we can do is log and cut the stream, so the
		// client sees a broken transfer, not a short file.
		rp.cfg.Logger.Warn("tracklink: orders csv", "error", err)
		panic(http.ErrAbortHandler)
	}
}

// csvResponse sends the CSV headers with the first bytes, so that an
// export failing before its first write is still answered with an error.
type csvResponse struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (c *csvResponse) Write(p []byte) (int, error) {
	if !c.started {
		c.started = true
		h := c.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+c.name+`"`)
		h.Set("Cache-Control", "no-store")
		c.w.WriteHeader(http.StatusOK)
	}
	return c.w.Write(p)
}

func (c *csvResponse) Flush() {
	if c.started {
		_ = http.NewResponseController(c.w).Flush()
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
		rp.reply(w, r, nil, err)
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

// decode reads a request body of one JSON object into v, or answers the
// error and returns false.
func (rp *Reporter) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		jsonError(w, http.StatusUnsupportedMediaType, "content type must be application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("body has more than one JSON value")
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		jsonError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", tooBig.Limit))
		return false
	case err != nil:
		rp.reply(w, r, nil, fmt.Errorf("%w: %v", ErrInvalid, err))
		return false
	}
	return true
}

// reply writes v as JSON (200), or err with the status it calls for.
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
	writeJSON(w, http.StatusOK, v)
}

// writeJSON writes v as JSON with status code; its headers are set before
// the status, after which they would be ignored.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
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
