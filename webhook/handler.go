package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/tracklink/tracklink"
)

// Config configures NewHandler. Store and Provider are required; every
// other zero value means the documented default.
type Config struct {
	// Store reads sessions' touches and records orders exactly once: any
	// tracklink.Store (memstore, redisstore, tracklink.Compose). Required.
	// When it also has a PromoterByPromoCode method (tracklink.Registry
	// does), an order's promo code credits the registered promoter owning
	// it, as Precedence says; without it promo codes are not read.
	Store Store
	// Provider verifies and parses deliveries: MustStandardWebhooks(secret) or
	// MustStripe(secret). Required.
	Provider Provider
	// Hooks are called after an order or refund is committed. Any hook may
	// be nil. A failing OnAttributed, OnUnattributed, OnRefunded or
	// OnPartialRefund makes
	// the handler answer 500 so that the provider redelivers and the hook
	// runs again. OnError hears of store errors (wrapping ErrStore), hook
	// failures (ErrHookFailed), deliveries answered 400, 401 or 413, and
	// malformed optional fields dropped from an order that still counted
	// (tracklink.ErrIgnoredInput; see Event.Ignored).
	Hooks tracklink.Hooks
	// MaxBodyBytes bounds a delivery's body; larger ones get 413. Default
	// 1 MiB (Stripe's events are a few KB). It cannot be turned off.
	MaxBodyBytes int64
	// Now is the clock signatures are checked against. Default time.Now.
	Now func() time.Time
	// Logger receives one line per delivery (debug for applied and
	// ignored ones, warn for rejected ones, error for store and hook
	// failures). Default discards.
	Logger *slog.Logger
	// AllowPromoter vetoes the credit of a promoter's site-wide ("all
	// events") link for an event. Nil allows every event.
	AllowPromoter tracklink.PromoterAllowed
	// Precedence weighs an order's promo code against the session's touch
	// (tracklink.Attribute): tracklink.PromoCodeFirst (the default) credits
	// a registered promoter's code over any touch; tracklink.LinkFirst keeps
	// an explicit touch (promoter link, campaign link, ad click id). A
	// value that is neither is an error.
	Precedence tracklink.Precedence
	// StoreTimeout bounds each store call of a delivery, so that a hung
	// store answers 503 (and the provider retries) instead of holding the
	// provider's connection. Zero means the default, 2s; negative is an
	// error (as in middleware.Config).
	StoreTimeout time.Duration
	// HookLease is how long a delivery holds the hook it runs
	// (tracklink.Ledger.ClaimHook): concurrent duplicates of one order do
	// not run it meanwhile, and once it ends (the delivery died) a later
	// delivery runs it. Make it longer than a hook takes. Default
	// tracklink.DefaultHookLease (30s); it cannot be turned off.
	HookLease time.Duration
}

// Defaults.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultStoreTimeout = 2 * time.Second
)

// retryAfter is the Retry-After of a 503, in seconds. Stripe and most
// senders follow their own backoff, but it tells a human what to expect.
const retryAfter = "30"

func (c *Config) setDefaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if c.HookLease <= 0 {
		c.HookLease = tracklink.DefaultHookLease
	}
}

// Store is what the receiver needs from the store: the session side's
// Touches, to find whom an order credits, and the ledger.
type Store interface {
	Touches(ctx context.Context, session, event string) (eventTouch, siteTouch *tracklink.Touch, err error)
	tracklink.Ledger
}

// promoCodeLookup is the optional store ability behind the promo code
// fallback; tracklink.Registry has it.
type promoCodeLookup interface {
	PromoterByPromoCode(ctx context.Context, promo string) (code string, ok bool, err error)
}

// Handler receives payment provider webhooks: body limit → verify →
// parse → attribute once → hooks. Make one with NewHandler.
type Handler struct {
	cfg   Config
	promo promoCodeLookup
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the webhook receiver. Mount it on the POST route the
// provider calls, outside any CSRF protection (the signature authenticates
// the sender) and outside the tracking middleware.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.StoreTimeout < 0 {
		return nil, errors.New("webhook: Config.StoreTimeout must not be negative (zero means the default)")
	}
	if !cfg.Precedence.Valid() {
		return nil, fmt.Errorf("webhook: Config.Precedence %d is neither tracklink.PromoCodeFirst nor tracklink.LinkFirst", int(cfg.Precedence))
	}
	if cfg.Store == nil {
		return nil, errors.New("webhook: Config.Store is required")
	}
	if cfg.Provider == nil {
		return nil, errors.New("webhook: Config.Provider is required")
	}
	cfg.setDefaults()
	h := &Handler{cfg: cfg}
	h.promo, _ = cfg.Store.(promoCodeLookup)
	return h, nil
}

// result is the JSON body of a 200 or 202.
type result struct {
	OrderID string            `json:"order_id,omitempty"`
	Status  string            `json:"status"`
	Channel tracklink.Channel `json:"channel,omitempty"`
	Source  string            `json:"source,omitempty"`
	Rule    tracklink.Rule    `json:"rule,omitempty"`
	Type    string            `json:"type,omitempty"`
	Reason  string            `json:"reason,omitempty"`
}

// The statuses of result.
const (
	statusAttributed    = "attributed"         // a new order, counted
	statusDuplicate     = "duplicate"          // already recorded (or refunded): nothing changed
	statusRefunded      = "refunded"           // the order is refunded
	statusRefundPending = "refund_pending"     // refund of an order not recorded yet, remembered
	statusPartRefunded  = "partially_refunded" // a partial refund applied
	statusIgnored       = "ignored"            // nothing to do
)

// ServeHTTP handles one delivery; see the package documentation for the
// status codes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, r, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		h.fail(w, r, http.StatusUnsupportedMediaType, "content type must be application/json", nil)
		return
	}
	body, err := h.readBody(w, r)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			h.fail(w, r, http.StatusRequestEntityTooLarge, "body too large", err)
			return
		}
		h.fail(w, r, http.StatusBadRequest, "cannot read body", err)
		return
	}
	ev, err := h.cfg.Provider.Open(r.Header, body, h.cfg.Now())
	if err != nil {
		if errors.Is(err, ErrSignature) {
			h.fail(w, r, http.StatusUnauthorized, err.Error(), err)
			return
		}
		msg := "bad payload"
		if errors.Is(err, ErrBadPayload) {
			msg = err.Error()
		}
		h.fail(w, r, http.StatusBadRequest, msg, err)
		return
	}
	// A Provider promises valid orders; check anyway, since a host may
	// bring its own Provider and the store trusts what it is given.
	switch {
	case ev.Kind == EventOrderCompleted:
		ev.Ignored = append(ev.Ignored, ev.Order.Sanitize()...)
		if verr := ev.Order.Validate(); verr != nil {
			err = invalidOrder(verr)
		} else if ev.OrderID != "" && ev.OrderID != ev.Order.ID {
			err = badPayload("provider: order id %q and event order id %q differ", clip(ev.Order.ID, 40), clip(ev.OrderID, 40))
		}
	case ev.Kind == EventOrderRefunded && !validOrderID(ev.OrderID):
		err = badPayload("refund of an invalid order id")
	case ev.Kind == EventPartialRefund:
		if ev.OrderID == "" {
			ev.OrderID = ev.Refund.OrderID
		}
		if rerr := ev.Refund.Check(); rerr != nil {
			err = badPayload("refund: %v", rerr)
		} else if ev.Refund.OrderID != ev.OrderID {
			err = badPayload("provider: refund order id %q and event order id %q differ", clip(ev.Refund.OrderID, 40), clip(ev.OrderID, 40))
		}
	}
	if err != nil {
		h.fail(w, r, http.StatusBadRequest, err.Error(), err)
		return
	}
	// One token per delivery attempt: a store call retried after a lost
	// reply is then told what it did, not "duplicate" (tracklink.Ledger).
	r = r.WithContext(tracklink.WithDelivery(r.Context(), tracklink.NewDeliveryToken()))
	log := h.cfg.Logger.With("type", ev.Type, "delivery_id", ev.DeliveryID)
	for _, ierr := range ev.Ignored {
		log.WarnContext(r.Context(), "webhook: input ignored", "order_id", ev.OrderID, "err", ierr)
		if h.cfg.Hooks.OnError != nil {
			h.cfg.Hooks.OnError(r.Context(), ierr)
		}
	}
	switch ev.Kind {
	case EventOrderCompleted:
		h.completed(w, r, log, ev)
	case EventOrderRefunded:
		h.refunded(w, r, log, ev)
	case EventPartialRefund:
		h.partialRefunded(w, r, log, ev)
	default:
		log.DebugContext(r.Context(), "webhook: ignored", "order_id", ev.OrderID, "reason", ev.Reason)
		writeJSON(w, http.StatusOK, result{OrderID: ev.OrderID, Status: statusIgnored, Type: ev.Type, Reason: ev.Reason})
	}
}

// readBody reads at most MaxBodyBytes.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := h.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: Content-Length %d over %d", ErrTooLarge, r.ContentLength, limit)
	}
	// Size the buffer from Content-Length (+1 so that ReadFrom sees EOF
	// without growing), but never trust it for more than 64 KB up front:
	// a sender that lies about it only gets what it actually sends.
	var buf bytes.Buffer
	buf.Grow(int(min(max(r.ContentLength+1, 4<<10), 64<<10)))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
		}
		return nil, fmt.Errorf("webhook: read body: %w", err)
	}
	return buf.Bytes(), nil
}

// storeCtx bounds one store call.
func (h *Handler) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, h.cfg.StoreTimeout)
}

// completed attributes a paid order once: touches → promo code owner →
// Attribute (Config.Precedence) → Record (atomic, idempotent by order id) → pending hooks.
func (h *Handler) completed(w http.ResponseWriter, r *http.Request, log *slog.Logger, ev Event) {
	ctx := r.Context()
	o := ev.Order
	log = log.With("order_id", o.ID)

	var eventTouch, siteTouch *tracklink.Touch
	if o.Session != "" {
		sctx, cancel := h.storeCtx(ctx)
		var err error
		eventTouch, siteTouch, err = h.cfg.Store.Touches(sctx, o.Session, o.Event)
		cancel()
		if err != nil {
			h.storeFailed(w, r, log, "touches", err)
			return
		}
	}
	opts := tracklink.AttributeOptions{Precedence: h.cfg.Precedence, Allow: h.cfg.AllowPromoter}
	if o.PromoCode != "" && h.promo != nil {
		sctx, cancel := h.storeCtx(ctx)
		owner, ok, err := h.promo.PromoterByPromoCode(sctx, o.PromoCode)
		cancel()
		if errors.Is(err, tracklink.ErrInvalid) {
			// customer input never fails an order: a code the store
			// refuses to look up is ignored, as one nobody owns
			h.report(ctx, fmt.Errorf("%w: order %s: promo code: %w", tracklink.ErrIgnoredInput, o.ID, err))
			ok, err = false, nil
		}
		if err != nil {
			h.storeFailed(w, r, log, "promo code", err)
			return
		}
		if ok {
			opts.PromoCodeOwner = owner
		} else {
			// A code no promoter owns (the shop's own discount code, a
			// typo) is no error: the order counts on its session's touch.
			log.DebugContext(ctx, "webhook: promo code of no registered promoter ignored")
		}
	}
	a := tracklink.Attribute(o, eventTouch, siteTouch, opts)
	sctx, cancel := h.storeCtx(ctx)
	rec, err := h.cfg.Store.Record(sctx, a)
	cancel()
	if err != nil {
		h.storeFailed(w, r, log, "record", err)
		return
	}
	status := statusDuplicate
	switch {
	case rec.Attribution.Refunded:
		status = statusRefunded
	case rec.Applied:
		status = statusAttributed
	}
	if !h.runHooks(w, r, log, rec, nil) {
		return
	}
	stored := rec.Attribution
	log.DebugContext(ctx, "webhook: order", "status", status, "key", stored.Touch.Key(), "rule", stored.Rule)
	writeJSON(w, http.StatusOK, result{
		OrderID: stored.OrderID, Status: status,
		Channel: stored.Touch.Channel, Source: stored.Touch.Source, Rule: stored.Rule,
	})
}

// refunded reverses an order once. The refund of an order not recorded
// yet is remembered by the store (a late order then counts nothing) and
// answered 202.
func (h *Handler) refunded(w http.ResponseWriter, r *http.Request, log *slog.Logger, ev Event) {
	log = log.With("order_id", ev.OrderID)
	sctx, cancel := h.storeCtx(r.Context())
	rec, ok, err := h.cfg.Store.Refund(sctx, ev.OrderID, ev.At)
	cancel()
	if err != nil {
		h.storeFailed(w, r, log, "refund", err)
		return
	}
	if !ok {
		log.InfoContext(r.Context(), "webhook: refund of an order not recorded yet; remembered")
		writeJSON(w, http.StatusAccepted, result{OrderID: ev.OrderID, Status: statusRefundPending})
		return
	}
	if !h.runHooks(w, r, log, rec, nil) {
		return
	}
	status := statusDuplicate
	if rec.Applied {
		status = statusRefunded
	}
	stored := rec.Attribution
	log.DebugContext(r.Context(), "webhook: refund", "status", status)
	writeJSON(w, http.StatusOK, result{
		OrderID: stored.OrderID, Status: status,
		Channel: stored.Touch.Channel, Source: stored.Touch.Source, Rule: stored.Rule,
	})
}

// partialRefunded applies a partial refund once per refund id. A refund
// of an order not recorded yet is not remembered: it is answered 503, so
// that the provider delivers it again once the order is. A refund the
// store refuses as invalid (past tracklink.MaxOrderRefunds) is answered
// 400: retrying cannot help.
func (h *Handler) partialRefunded(w http.ResponseWriter, r *http.Request, log *slog.Logger, ev Event) {
	log = log.With("order_id", ev.OrderID, "refund_id", ev.Refund.RefundID)
	ref := ev.Refund
	sctx, cancel := h.storeCtx(r.Context())
	rec, err := h.cfg.Store.PartialRefund(sctx, ref)
	cancel()
	if errors.Is(err, tracklink.ErrInvalid) {
		h.fail(w, r, http.StatusBadRequest, "refund refused: "+err.Error(), err)
		return
	}
	if err != nil {
		h.storeFailed(w, r, log, "partial refund", err)
		return
	}
	if !rec.Known {
		log.InfoContext(r.Context(), "webhook: partial refund of an order not recorded yet; answering 503 so the provider delivers it again")
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, "order not recorded yet; deliver the refund again later", http.StatusServiceUnavailable)
		return
	}
	if !h.runHooks(w, r, log, rec.Record, &rec.Refund) {
		return
	}
	status := statusDuplicate
	switch {
	case rec.Applied && rec.Refund.Full:
		status = statusRefunded
	case rec.Applied:
		status = statusPartRefunded
	}
	stored := rec.Attribution
	log.DebugContext(r.Context(), "webhook: partial refund", "status", status, "revenue", rec.Refund.Revenue, "tickets", rec.Refund.Tickets)
	writeJSON(w, http.StatusOK, result{
		OrderID: stored.OrderID, Status: status,
		Channel: stored.Touch.Channel, Source: stored.Touch.Source, Rule: stored.Rule,
	})
}

// runHooks runs the hooks the outbox still owes for rec's order and acks
// each one that succeeded. Each hook is claimed first (ClaimHook, for
// HookLease), so that concurrent duplicates of the order run it once; a
// failed hook's claim is released, so the next delivery runs it again at
// once. It answers the request and returns false when a hook failed (500:
// the outbox keeps it for the next delivery), when another delivery holds
// a hook (503: retry; that delivery may yet fail) or a store call failed
// (503). A partial refund's entry runs only in a delivery of that refund
// (refund, its entry as applied); other deliveries of the order leave it
// owed, for the provider's redelivery of that refund.
func (h *Handler) runHooks(w http.ResponseWriter, r *http.Request, log *slog.Logger, rec tracklink.Record, refund *tracklink.RefundEntry) bool {
	ctx := r.Context()
	id := rec.Attribution.OrderID
	var hookErr error
	busy := false
	for _, kind := range rec.Pending {
		var fn func(context.Context, tracklink.Attribution) error
		switch kind {
		case tracklink.HookAttributed:
			fn = h.cfg.Hooks.OnAttributed
		case tracklink.HookUnattributed:
			fn = h.cfg.Hooks.OnUnattributed
		case tracklink.HookRefunded:
			fn = h.cfg.Hooks.OnRefunded
		default:
			if rid, ok := kind.RefundID(); ok {
				if refund == nil || rid != refund.ID {
					continue // another refund's: its own delivery runs it
				}
				if on := h.cfg.Hooks.OnPartialRefund; on != nil {
					e := *refund
					fn = func(ctx context.Context, a tracklink.Attribution) error { return on(ctx, a, e) }
				}
				break
			}
			log.WarnContext(ctx, "webhook: unknown outbox entry; acked", "hook", kind)
		}
		if fn != nil {
			sctx, cancel := h.storeCtx(ctx)
			ok, err := h.cfg.Store.ClaimHook(sctx, id, kind, h.cfg.HookLease)
			cancel()
			if err != nil {
				h.storeFailed(w, r, log, "claim hook", err)
				return false
			}
			if !ok {
				// another delivery runs it now (or it was just acked)
				busy = true
				continue
			}
			if err := fn(ctx, rec.Attribution); err != nil {
				err = fmt.Errorf("%w: %s: %w", ErrHookFailed, kind, err)
				log.ErrorContext(ctx, "webhook: hook failed; the next delivery runs it again", "hook", kind, "err", err)
				h.report(ctx, err)
				hookErr = err
				sctx, cancel := h.storeCtx(ctx)
				err = h.cfg.Store.ReleaseHook(sctx, id, kind)
				cancel()
				if err != nil { // the lease still ends by itself
					h.report(ctx, fmt.Errorf("%w: release hook: %w", ErrStore, err))
				}
				continue
			}
		}
		sctx, cancel := h.storeCtx(ctx)
		err := h.cfg.Store.Ack(sctx, id, kind)
		cancel()
		if err != nil {
			// the hook ran but stays owed: let the retry run it again
			// rather than wait for the lease (at least once)
			if fn != nil {
				sctx, cancel := h.storeCtx(ctx)
				_ = h.cfg.Store.ReleaseHook(sctx, id, kind)
				cancel()
			}
			h.storeFailed(w, r, log, "ack", err)
			return false
		}
	}
	if hookErr != nil {
		http.Error(w, "hook failed; redeliver to retry it", http.StatusInternalServerError)
		return false
	}
	if busy {
		log.InfoContext(ctx, "webhook: a hook runs in another delivery; answering 503 so the provider comes back")
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, "the order's hook is running in another delivery; retry later", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// storeFailed answers 503 so that the provider retries: Record and Refund
// are atomic, so nothing was half-written.
func (h *Handler) storeFailed(w http.ResponseWriter, r *http.Request, log *slog.Logger, op string, err error) {
	err = fmt.Errorf("%w: %s: %w", ErrStore, op, err)
	log.ErrorContext(r.Context(), "webhook: store failed; answering 503 so the provider retries", "err", err)
	h.report(r.Context(), err)
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, "store unavailable; retry later", http.StatusServiceUnavailable)
}

// fail answers a rejected delivery with a short plain-text reason.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, msg string, err error) {
	h.cfg.Logger.WarnContext(r.Context(), "webhook: rejected", "status", code, "reason", msg)
	if err != nil {
		h.report(r.Context(), fmt.Errorf("webhook: rejected with %d: %w", code, err))
	}
	http.Error(w, msg, code)
}

func (h *Handler) report(ctx context.Context, err error) {
	if h.cfg.Hooks.OnError != nil {
		h.cfg.Hooks.OnError(ctx, err)
	}
}

func writeJSON(w http.ResponseWriter, code int, v result) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: result holds strings only
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = io.Copy(w, bytes.NewReader(b))
}
