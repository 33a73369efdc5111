package tracklink

import "context"

// Visit is what the middleware knows about the current request's browser
// session. Handlers get it with FromContext.
type Visit struct {
	// Session is the opaque session reference: 22 characters of
	// [A-Za-z0-9_-] (128 random bits), safe for Stripe's
	// client_reference_id and for any metadata field. Hand it to the payment
	// provider at checkout. It is "" when the browser has no session yet or
	// consent was refused.
	Session string
	// Tracked reports whether this request was classified and stamped.
	Tracked bool
	// Landing is this request's classified touch (when Tracked).
	Landing Touch
	// Current is the session's touch for the page's event (or the site-wide
	// touch on other pages) after this landing was merged in; it is what an
	// order placed now would be credited to. Zero unless Tracked and the
	// store answered.
	Current Touch
}

// VisitSource lets a context carry a visit that is worked out only when a
// handler asks for it, so requests that never ask pay nothing. The
// middleware's request context implements it.
type VisitSource interface {
	Visit() (Visit, bool)
}

// NewContext returns a copy of ctx carrying v.
func NewContext(ctx context.Context, v Visit) context.Context {
	return context.WithValue(ctx, ContextKey{}, v)
}

// FromContext returns the visit the middleware attached to ctx. ok is false
// outside the middleware, when the browser has no session yet, or when the
// visitor did not consent.
func FromContext(ctx context.Context) (v Visit, ok bool) {
	switch x := ctx.Value(ContextKey{}).(type) {
	case Visit:
		return x, x.Session != ""
	case VisitSource:
		v, ok = x.Visit()
		return v, ok && v.Session != ""
	}
	return Visit{}, false
}

// ContextKey is the context key FromContext looks up. A context whose
// Value(ContextKey{}) answers a Visit or a VisitSource serves FromContext;
// the middleware uses this to attach a lazy visit without extra
// allocations. Being a type, not a variable, it cannot be reassigned by an
// importer.
type ContextKey struct{}
