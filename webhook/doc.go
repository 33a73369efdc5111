// Package webhook receives the payment provider's order webhooks and
// attributes every paid order exactly once.
//
// A delivery goes through: POST and Content-Type checks → a body limit →
// signature verification on the raw body → parsing → the session's
// touches (Store.Touches) → tracklink.Attribute → Store.Record, one atomic
// step that claims the order id, stores the attribution, updates the
// aggregates and queues the host's hook → the hooks the outbox owes →
// Store.Ack. Duplicate and concurrent deliveries of the same order change
// nothing twice; a refund reverses what its order added, once.
//
//	wh, err := webhook.NewHandler(webhook.Config{
//		Store:    store,
//		Provider: webhook.MustStripe(os.Getenv("STRIPE_WEBHOOK_SECRET")),
//		Hooks:    tracklink.Hooks{OnAttributed: notify},
//	})
//	mux.Handle("POST /webhooks/stripe", wh)
//
// Mount the handler outside CSRF protection (the signature authenticates
// the sender) and outside body-rewriting middleware: the signature covers
// the exact bytes the provider sent.
//
// # Providers
//
// MustStandardWebhooks(secret) and MustStripe(secret) return the two providers;
// pass several secrets while rotating one (the old and the new, until the
// sender only signs with the new). Both panic on a malformed secret, a
// wiring mistake; NewStandardWebhooks and NewStripe return the error
// instead, for secrets read from the environment. Both verify with
// HMAC-SHA256, compare in constant time (crypto/hmac.Equal), and accept a
// signed timestamp at most five minutes from Config.Now in either
// direction: enough for clock skew, too little to replay a captured
// delivery later (and a replay inside the window changes nothing, orders
// being recorded once by id).
//
// # The generic order format (Standard Webhooks)
//
// For a host whose own checkout or back office emits orders. The sender
// signs per https://www.standardwebhooks.com/: headers webhook-id,
// webhook-timestamp (unix seconds) and webhook-signature (space-separated
// "v1,<base64>" entries; other versions are skipped), signing
// "<webhook-id>.<webhook-timestamp>.<body>" with the key base64-encoded
// after the "whsec_" prefix of the secret (24 to 128 bytes). Bodies:
//
//	{"type": "order.completed", "data": {
//	  "order_id": "ord_123",            // required, 1-255 printable ASCII; the idempotency key
//	  "session_ref": "…",              // tracklink.Visit.Session at checkout; optional
//	  "event": "summer-fest",           // required, [a-z0-9-]{1,64}
//	  "currency": "EUR",                // required, ISO 4217 (uppercased)
//	  "promo_code": "ANA10",            // optional: credits its promoter (Config.Precedence)
//	  "created_at": "2026-05-01T10:00:00Z", // optional RFC 3339, default webhook-timestamp
//	  "lines": [                        // 1-100 lines; kind, quantity, unit_amount required
//	    {"kind": "primary", "ticket_type": "GA", "quantity": 2, "unit_amount": 2500},
//	    {"kind": "resale", "quantity": 1, "unit_amount": 3000}]}}
//
//	{"type": "order.refunded", "data": {"order_id": "ord_123",
//	  "refunded_at": "2026-05-02T09:00:00Z"}} // refunded_at optional
//
//	{"type": "order.refunded", "data": {"order_id": "ord_123",
//	  "refund_id": "rf_1",              // required with amount or lines: applied once
//	  "amount": 2500,                   // optional, minor units
//	  "lines": [{"kind": "primary", "quantity": 1, "unit_amount": 2500}]}}
//
// An order.refunded without amount and lines refunds the order in full.
// With either it is a partial refund (tracklink.Ledger.PartialRefund),
// applied once per refund_id: amount is the revenue refunded (default:
// the primary revenue of lines), the primary quantities of lines the
// tickets given back. What an order no longer counts is never refunded
// twice: a refund asking for more is clamped, and the one that takes off
// all the revenue left refunds the order in full. A partial refund of an
// order not recorded yet is answered 503, so that the sender delivers it
// again later.
//
// Kinds are primary, resale and transfer; only primary lines count in
// sales (resold and transferred tickets are recorded as excluded).
// Amounts are in the currency's minor unit. Unknown fields are ignored so
// senders can add their own; unknown types are answered 200 and ignored.
// An order that fails tracklink.Order.Validate is answered 400.
// webhooktest.SignStandardWebhook and StandardWebhookRequest sign such
// deliveries in tests.
//
// # Stripe
//
// The Stripe provider verifies Stripe-Signature ("t=…,v1=…", several v1
// during a secret roll; v0 and unknown schemes skipped) with HMAC-SHA256
// of "t.body" keyed by the endpoint's whole signing secret (whsec_…),
// without importing stripe-go. Subscribe the endpoint to
// checkout.session.completed, checkout.session.async_payment_succeeded
// and charge.refunded. When creating the Checkout Session, the host sets:
//
//	client_reference_id: visit.Session        // from tracklink.FromContext
//	metadata[tracklink_event]:   "summer-fest" // required, else the session is ignored
//	metadata[tracklink_tickets]: "2"           // primary tickets; revenue = amount_total
//	metadata[tracklink_lines]:   `[{"kind":"primary","ticket_type":"GA","quantity":2,"unit_amount":2500}]`
//	                                           // instead of tracklink_tickets: lines as in
//	                                           // the generic format, at most 500 characters
//	metadata[tracklink_promo_code]: "ANA10"    // optional
//	metadata[tracklink_session]: visit.Session // only if client_reference_id is taken
//
// (the Metadata… constants name the keys). With neither tracklink_lines
// nor tracklink_tickets the order counts one ticket for amount_total.
// amount_total is split over tracklink_tickets in whole minor units, so
// the revenue is exact. The currency is the session's, uppercased. A
// client_reference_id that is not a tracklink session reference is not
// an error: the order then counts without a session touch (its promo
// code's promoter, or direct).
//
// What counts:
//
//   - checkout.session.completed with payment_status "paid" (or
//     "no_payment_required", a free order) completes the order. With
//     "unpaid" (delayed methods such as SEPA debit or bank transfers) it
//     is ignored, and checkout.session.async_payment_succeeded completes
//     it later; checkout.session.async_payment_failed and expired sessions
//     are ignored.
//   - The order id is the session's PaymentIntent id (pi_…): every event
//     about the session names the same PaymentIntent, so one Checkout
//     Session is one order however many events mention it, and
//     charge.refunded names it too, so refunds need no extra wiring. A
//     session with no PaymentIntent (nothing to pay) uses its cs_… id.
//   - charge.refunded with "refunded": true (the charge is fully refunded)
//     reverses the order of the charge's payment_intent (what partial
//     refunds left). With amount_refunded below amount it is a partial
//     refund of the order's revenue (no tickets: Stripe does not say
//     which tickets it returned): the newest refund of the charge's
//     refunds.data (latest created), its id and amount. When the charge
//     does not embed its refunds (newer API versions), the refund id is
//     derived from the cumulative amount, "amount_refunded:<amount>", the
//     same on every delivery of that refund, and the refund is a total
//     (tracklink.Refund.Cumulative): the ledger refunds amount_refunded
//     less what the order already had refunded, atomically with the rest
//     of the refund.
//   - Every other event type is answered 200 and ignored.
//
// The same Stripe account may sell things tracklink never saw: their
// Checkout Sessions are ignored (no tracklink_event), but their full
// refunds look like refunds of orders not recorded yet, so they are
// answered 202 and remembered by the store like any early refund.
//
// The session's touches are read when the order completes. A delayed
// payment method (SEPA debit, bank transfer) completes days after the
// checkout, possibly after the session's touches expired (middleware
// Config.TTL, 24 h by default): such a sale is then credited to its promo
// code's promoter or to direct. Shops that sell mostly by delayed methods
// should raise TTL to cover the settlement time.
//
// webhooktest.SignStripe and StripeRequest sign Stripe-shaped deliveries
// in tests.
//
// # Status codes
//
//	200 OK                  applied, duplicate or ignored; JSON body
//	                        {"order_id","status","channel","source","rule"},
//	                        status one of attributed, duplicate, refunded,
//	                        partially_refunded, ignored
//	202 Accepted            refund of an order not recorded yet: the store remembers
//	                        it and the order, when it arrives, counts nothing
//	                        (status refund_pending)
//	400 Bad Request         signed body that is not a valid order or refund, or a
//	                        refund the store refused (plain-text reason)
//	401 Unauthorized        missing, malformed, wrong or stale signature
//	405 Method Not Allowed  anything but POST (Allow: POST)
//	413 Content Too Large   body over Config.MaxBodyBytes (default 1 MiB)
//	415 Unsupported Media   Content-Type is not application/json
//	500 Internal Error      the order is committed but a hook failed
//	503 Unavailable         the store failed or timed out, another delivery of
//	                        the same order is running its hook, or a partial
//	                        refund's order is not recorded yet (Retry-After: 30)
//
// # Retries
//
// Providers redeliver on any non-2xx answer (Stripe for up to three days,
// Standard Webhooks senders on their own schedule), and tracklink relies on
// that:
//
//   - 503: Store.Record and Store.Refund are atomic, so a failed call wrote
//     nothing; the retry starts afresh. Store errors also go to
//     Hooks.OnError (wrapping ErrStore).
//   - 500: the order is counted and its hook stays in the store's outbox.
//     The next delivery of the same order counts nothing again and runs
//     the owed hook again, so hooks run at least once per order: make
//     them idempotent by order id. Hook errors go to Hooks.OnError too
//     (wrapping ErrHookFailed).
//   - 503 for a held hook: a delivery claims the outbox entry
//     (Ledger.ClaimHook, Config.HookLease, default 30 s) before running
//     it, so concurrent duplicates of one order run each hook once; a
//     duplicate that finds the hook held answers 503 and the provider
//     comes back, to find it done, or, if the holder crashed, to run it
//     once the lease has run out.
//   - 400 and 401 are retried by the provider as well, but a retry of the
//     same bytes fails the same way: fix the sender or the secret, then
//     redeliver from the provider's dashboard.
//   - Deliveries may arrive in any order: a refund before its order is
//     answered 202 and applied when the order arrives.
package webhook
