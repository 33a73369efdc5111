// Package pgstore is the durable side of tracklink on PostgreSQL (jackc/pgx
// v5, pgxpool): the order ledger with its hook outbox, the visit and sales
// aggregates, the promoter registry and campaign links, the reports, and a
// live feed across instances. It implements tracklink.LedgerStore and
// tracklink.Feed; sessions live elsewhere (Redis or memory), joined with
// tracklink.Compose:
//
//	cfg, _ := pgstore.RecommendedConfig(os.Getenv("DATABASE_URL"))
//	pool, _ := pgxpool.NewWithConfig(ctx, cfg)
//	ledger, err := pgstore.New(ctx, pool, pgstore.Options{})
//	if err == nil {
//		err = ledger.Migrate(ctx) // or run the migration SQL yourself
//	}
//	rdb := redis.NewUniversalClient(redisstore.RecommendedOptions("127.0.0.1:6379"))
//	sessions, err := redisstore.New(ctx, rdb, redisstore.Options{SessionsOnly: true})
//	store := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{})
//	defer store.Close(context.Background())
//	// store goes to middleware.Config, webhook.Config and report.Config
//
// New never dials: it takes a ready pool, whose configuration decides the
// waits (RecommendedConfig sets statement_timeout and lock_timeout as
// run-time parameters of every connection).
//
// # Exactly once
//
// Record is one call of the SQL function record_order, so one statement,
// one transaction and one round trip: under an advisory lock on the order
// id it claims the order by its primary key (INSERT … ON CONFLICT DO
// NOTHING), stores the attribution, applies the aggregates (per event ×
// day × source key × currency, per promoter, per group of a registered
// promoter), queues the hook in the outbox table and NOTIFYs the change
// (delivered at commit). A duplicate finds the row and changes nothing; a
// failed call rolled everything back. Visit counting (count_visits, one
// statement per batch) works the same way. Refund and PartialRefund run
// one transaction under the order's lock: read the order, compute the
// refund in Go (tracklink.Attribution.FullRefund, ApplyRefund), apply it
// (take_refund); a partial refund is claimed once by its row in
// tracklink.refunds, unique by (order id, refund id).
// Input is checked in Go before any statement is sent
// (tracklink.Attribution.Check, tracklink.VisitCount.Check): a bad amount or
// id wraps ErrInvalid and writes nothing. Calls PostgreSQL aborts for a
// deadlock or a serialization failure are retried (Options.Retries).
//
// # Schema
//
// Every table lives in Options.Schema (default "tracklink") and leads with
// an organiser column (the empty string for now). Migrate applies the embedded,
// versioned migrations (migrations/NNNN_name.sql, recorded in
// schema_migrations) in one transaction under an advisory lock;
// MigrationSQL returns the same SQL for operators who run migrations
// themselves. The README documents the tables for hosts who join orders to
// their own.
//
// # Live feed
//
// Subscribe LISTENs on "<schema>_changes" over one connection taken out of
// the pool while anyone subscribes, reconnecting if it drops. NOTIFY is at
// most once (a change sent while the listener reconnects is lost); the
// outbox, not the feed, guarantees hooks.
//
// # Precision
//
// Attributions are returned exactly as recorded (they are kept as JSON);
// the time columns, the order of Orders and RecentOrders, and the Created
// times of promoters and links are to the microsecond, PostgreSQL's
// precision.
package pgstore
