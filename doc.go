// Package tracklink learns where a ticket shop's visits and sales come from.
//
// A host adds three pieces to its own web app:
//
//   - middleware.Middleware classifies every landing (promoter links, campaign
//     links with utm_* parameters, click ids, referrers, in-app browsers,
//     direct visits), stamps the browser session and counts visits per event
//     and source, in one store round trip.
//   - webhook.NewHandler verifies signed order events from the payment
//     provider and attributes each paid order exactly once to the session's
//     promoter or source.
//   - report answers the organiser's questions: event traffic by source,
//     campaign links, promoters, orders CSV and a live stream of sales.
//
// This root package holds the domain: Touch, Channel, Visit, Order,
// Attribution, the store contract and Classify. It does no I/O.
//
// The store contract is split by role: the session side (SessionStore,
// hot and ephemeral), the durable side (LedgerStore: Ledger, VisitCounter,
// Registry, Reports) and an optional live Feed. memstore and redisstore
// hold every role; Compose joins a session store and a ledger that live
// apart (Redis sessions, the ledger on PostgreSQL with adapters/pgstore).
//
// The quick start, a complete program, is middleware's ExampleNew (the
// README shows the same code); report's ExampleNew adds the organiser's
// API.
package tracklink
