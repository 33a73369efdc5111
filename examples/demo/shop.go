package main

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tracklink/tracklink"
)

// The attendee side: home page, event pages, checkout and the order page.
// The only tracklink code here is in checkout: it reads the session
// reference from the request context and hands it to the payment provider,
// as a real shop does with Stripe's client_reference_id.

// page is the data every template gets.
type page struct {
	Title   string
	Section string // active nav entry
	Error   string
	Notice  string
	Data    any
	App     *App
}

func (a *App) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := a.pages[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	p.App = a
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "page", p); err != nil {
		a.log.Error("render", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// Events returns the catalogue (templates use it).
func (a *App) Events() []Event { return a.events }

// EventName returns an event's display name.
func (a *App) EventName(slug string) string {
	if e, ok := a.bySlug[slug]; ok {
		return e.Name
	}
	return slug
}

// EventsJSON maps slugs to names for the dashboard's script.
func (a *App) EventsJSON() string {
	m := map[string]string{}
	for _, e := range a.events {
		m[e.Slug] = e.Name
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "home", page{Title: "Live music & nights out", Section: "events"})
}

// eventView is the event page's data.
type eventView struct {
	Event
	Kind  string
	Qty   map[string]int
	Promo string
	Buyer string
	Email string
}

func (a *App) eventPage(w http.ResponseWriter, r *http.Request) {
	e, ok := a.bySlug[r.PathValue("slug")]
	if !ok {
		a.render(w, r, http.StatusNotFound, "notfound", page{Title: "Event not found"})
		return
	}
	a.render(w, r, http.StatusOK, "event", page{Title: e.Name, Section: "events",
		Data: eventView{Event: e, Kind: string(tracklink.LinePrimary), Qty: map[string]int{}}})
}

// maxTicketsPerType bounds each quantity field of the checkout form.
const maxTicketsPerType = 10

func (a *App) checkout(w http.ResponseWriter, r *http.Request) {
	e, ok := a.bySlug[r.PathValue("slug")]
	if !ok {
		a.render(w, r, http.StatusNotFound, "notfound", page{Title: "Event not found"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	v := eventView{
		Event: e, Qty: map[string]int{},
		Kind:  r.PostForm.Get("kind"),
		Promo: strings.TrimSpace(r.PostForm.Get("promo")),
		Buyer: strings.TrimSpace(r.PostForm.Get("name")),
		Email: strings.TrimSpace(r.PostForm.Get("email")),
	}
	fail := func(msg string) {
		a.render(w, r, http.StatusBadRequest, "event", page{Title: e.Name, Section: "events", Error: msg, Data: v})
	}
	kind := tracklink.LineKind(v.Kind)
	if kind != tracklink.LinePrimary && kind != tracklink.LineResale && kind != tracklink.LineTransfer {
		fail("Choose where your tickets come from.")
		return
	}
	var lines []tracklink.Line
	var total int64
	for _, t := range e.Tickets {
		raw := r.PostForm.Get("qty_" + strings.ToLower(t.Code))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || n > maxTicketsPerType {
			fail("Quantities go from 0 to " + strconv.Itoa(maxTicketsPerType) + " per ticket type.")
			return
		}
		v.Qty[t.Code] = n
		if n == 0 {
			continue
		}
		price := t.Price
		switch kind {
		case tracklink.LineResale:
			price = t.Resale
		case tracklink.LineTransfer:
			price = 0
		}
		lines = append(lines, tracklink.Line{Kind: kind, TicketType: t.Code, Quantity: n, UnitAmount: price})
		total += int64(n) * price
	}
	if len(lines) == 0 {
		fail("Pick at least one ticket.")
		return
	}
	if v.Buyer == "" || len(v.Buyer) > 100 || !strings.Contains(v.Email, "@") || len(v.Email) > 200 {
		fail("Enter your name and a valid email address so we can send your tickets.")
		return
	}
	if v.Promo != "" {
		code, ok := tracklink.NormalizePromoter(v.Promo)
		if !ok {
			fail("That promo code does not exist.")
			return
		}
		// A promoter's promo code gives 10% off primary tickets and credits
		// the promoter, over the session's touch (tracklink.PromoCodeFirst).
		_, known, err := a.store.PromoterByPromoCode(r.Context(), code)
		if err != nil {
			a.log.Warn("promo code lookup", "error", err) // fail open: no discount
		} else if !known {
			fail("That promo code does not exist.")
			return
		} else if kind == tracklink.LinePrimary {
			total = 0
			for i := range lines {
				lines[i].UnitAmount = lines[i].UnitAmount * 9 / 10
				total += int64(lines[i].Quantity) * lines[i].UnitAmount
			}
		}
		v.Promo = code
	}

	// tracklink: the session reference goes to the payment provider, which
	// sends it back in the order webhook (Stripe: client_reference_id).
	visit, _ := tracklink.FromContext(r.Context())
	o := &shopOrder{
		providerOrder: providerOrder{
			ID: "ord_" + randomID(9), Session: visit.Session, Event: e.Slug, Currency: e.Currency,
			PromoCode: v.Promo, Lines: lines, CreatedAt: a.opts.Now().UTC(),
		},
		Status: "processing", Total: total, Kind: kind,
	}
	a.mu.Lock()
	a.orders[o.ID] = o
	a.mu.Unlock()
	a.payments.charge(o.providerOrder)
	http.Redirect(w, r, "/orders/"+o.ID, http.StatusSeeOther)
}

// paymentDone is the provider's callback once its webhook went through
// (or gave up).
func (a *App) paymentDone(id string, delivered bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if o := a.orders[id]; o != nil {
		if delivered {
			o.Status = "paid"
		} else {
			o.Status = "failed"
		}
	}
}

func (a *App) order(id string) (shopOrder, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	o, ok := a.orders[id]
	if !ok {
		return shopOrder{}, false
	}
	return *o, true
}

// orderView is the order page's data.
type orderView struct {
	shopOrder
	Event  Event
	Credit *creditView
}

// creditView explains how tracklink credited the order (a demo aid: a
// real shop would not show it to the attendee).
type creditView struct {
	Channel  string `json:"channel"`
	Source   string `json:"source"`
	Evidence string `json:"evidence"`
	Tickets  int    `json:"tickets"`
	Excluded int    `json:"excluded"`
}

func (a *App) credit(ctx context.Context, id string) *creditView {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	at, ok, err := a.store.Attribution(ctx, id)
	if err != nil || !ok {
		return nil
	}
	return &creditView{Channel: string(at.Touch.Channel), Source: at.Touch.Source, Evidence: at.Evidence(),
		Tickets: at.Tickets, Excluded: at.Excluded}
}

func (a *App) orderPage(w http.ResponseWriter, r *http.Request) {
	o, ok := a.order(r.PathValue("id"))
	if !ok {
		a.render(w, r, http.StatusNotFound, "notfound", page{Title: "Order not found"})
		return
	}
	v := orderView{shopOrder: o, Event: a.bySlug[o.Event]}
	if o.Status == "paid" {
		v.Credit = a.credit(r.Context(), o.ID)
	}
	a.render(w, r, http.StatusOK, "order", page{Title: "Your order", Section: "events", Data: v})
}

func (a *App) orderStatus(w http.ResponseWriter, r *http.Request) {
	o, ok := a.order(r.PathValue("id"))
	if !ok {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	res := struct {
		Status string      `json:"status"`
		Credit *creditView `json:"credit,omitempty"`
	}{Status: o.Status}
	if o.Status == "paid" {
		res.Credit = a.credit(r.Context(), o.ID)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res)
}

// errNoTemplate is returned by parsePages for a missing page.
var errNoTemplate = errors.New("demo: missing template")

var funcs = template.FuncMap{
	"money": money,
	"date":  func(t time.Time) string { return t.Format("Mon 2 Jan 2006") },
	"time":  func(t time.Time) string { return t.UTC().Format("15:04") },
	"day":   func(t time.Time) string { return t.Format("2") },
	"month": func(t time.Time) string { return t.Format("Jan") },
	"lower": strings.ToLower,
	"pct":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) + "%" },
	"add":   func(a, b int) int { return a + b },
	"seq": func(n int) []int {
		s := make([]int, n+1)
		for i := range s {
			s[i] = i
		}
		return s
	},
	"revenue":      formatRevenue,
	"channelColor": channelColor,
	"channelLabel": channelLabel,
	"join":         strings.Join,
	"contains": func(s []string, v string) bool {
		for _, x := range s {
			if x == v {
				return true
			}
		}
		return false
	},
}

// parsePages parses each page with its layout and the shared partials.
func parsePages() (map[string]*template.Template, error) {
	pages := map[string][]string{
		"home":      {"shop.html", "home.html"},
		"event":     {"shop.html", "event.html"},
		"order":     {"shop.html", "order.html"},
		"notfound":  {"shop.html", "notfound.html"},
		"login":     {"admin.html", "login.html"},
		"traffic":   {"admin.html", "partials.html", "traffic.html"},
		"links":     {"admin.html", "partials.html", "links.html"},
		"promoters": {"admin.html", "partials.html", "promoters.html"},
		"orders":    {"admin.html", "partials.html", "orders.html"},
		"panel":     {"admin.html", "partials.html", "promoters.html"},
	}
	out := map[string]*template.Template{}
	for name, files := range pages {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = "templates/" + f
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, paths...)
		if err != nil {
			return nil, err
		}
		if t.Lookup("page") == nil {
			return nil, errNoTemplate
		}
		out[name] = t
	}
	return out, nil
}
