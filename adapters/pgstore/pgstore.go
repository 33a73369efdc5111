package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracklink/tracklink"
)

// Compile-time guards: Store is the durable side and has a live feed.
var (
	_ tracklink.LedgerStore = (*Store)(nil)
	_ tracklink.Feed        = (*Store)(nil)
)

// Sentinel errors, compared with errors.Is.
var (
	// ErrInvalid is wrapped by the errors of calls refused before anything
	// was written: malformed input (tracklink.ErrInvalid).
	ErrInvalid = fmt.Errorf("pgstore: %w", tracklink.ErrInvalid)
	// ErrConflict is wrapped when a promo code already belongs to another
	// promoter (tracklink.ErrConflict).
	ErrConflict = fmt.Errorf("pgstore: %w", tracklink.ErrConflict)
	// ErrSchemaVersion is returned by New when the database's schema is
	// newer than this package knows (a newer release migrated it).
	ErrSchemaVersion = errors.New("pgstore: schema version newer than this package")
)

// Options configure a Store. The zero value is the default.
type Options struct {
	// Schema is the PostgreSQL schema holding tracklink's tables and
	// functions, created by Migrate: 1 to 48 bytes of [a-z0-9_], starting
	// with a letter or '_'. Default "tracklink". Giving each application
	// (or test) sharing a database its own schema keeps them apart, and
	// keeps tracklink's orders table clear of the host's own.
	Schema string
	// MaxSources caps the distinct source keys an event counts visits
	// under, and separately orders under (tracklink.DefaultMaxSources);
	// past it a new key counts under tracklink.OtherKey. Default
	// DefaultMaxSources (1,000); a negative value removes the cap.
	MaxSources int
	// TombstoneTTL is how long the store remembers a refund that arrived
	// before its order (so that a late Record counts nothing). Default 30
	// days; a negative value keeps such refunds for good.
	TombstoneTTL time.Duration
	// OrdersBatch is how many orders Orders reads per query. Default 256.
	OrdersBatch int
	// SubscribeBuffer is the buffer of each Subscribe channel; a reader
	// that falls further behind loses changes. Default 64.
	SubscribeBuffer int
	// Retries is how many times a call that PostgreSQL aborted for a
	// deadlock or a serialization failure is tried again (each call is one
	// transaction, so a retry starts afresh). Default 3; negative: none.
	Retries int
	// Now is the clock for touches and refunds given a zero time and for
	// promoters and links saved without Created. Default time.Now.
	Now func() time.Time
}

// Defaults of Options.
const (
	DefaultSchema          = "tracklink"
	DefaultMaxSources      = tracklink.DefaultMaxSources
	DefaultTombstoneTTL    = 30 * 24 * time.Hour
	DefaultOrdersBatch     = 256
	DefaultSubscribeBuffer = 64
	DefaultRetries         = 3
)

func (o *Options) setDefaults() {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.MaxSources == 0 {
		o.MaxSources = DefaultMaxSources
	}
	if o.TombstoneTTL == 0 {
		o.TombstoneTTL = DefaultTombstoneTTL
	}
	if o.OrdersBatch <= 0 {
		o.OrdersBatch = DefaultOrdersBatch
	}
	if o.SubscribeBuffer <= 0 {
		o.SubscribeBuffer = DefaultSubscribeBuffer
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,47}$`)

// organiser is the organiser scope every row carries. A later version
// scopes figures by organiser; until then there is one, "".
const organiser = ""

// Store is the durable side of tracklink on PostgreSQL: the order ledger
// with its hook outbox, the visit and sales aggregates, the registry and
// the reports, and a live feed across instances (LISTEN/NOTIFY). It is
// safe for concurrent use; it holds no state besides the pool, its
// options and the feed's listener, so any number of instances may share
// one database. Pair it with a session store through tracklink.Compose.
type Store struct {
	pool    *pgxpool.Pool
	opts    Options
	schema  string // quoted identifier
	channel string // LISTEN/NOTIFY channel
	q       queries
	stmts   sync.Map // statement → with the schema spliced in
	feed    feed
}

// New returns a Store on a ready pool. It never dials by itself: the
// pool's configuration decides where and how (see RecommendedConfig for
// bounded statement and lock waits). New reads the schema's version (one
// query): a schema not migrated yet is fine (call Migrate, or run the
// migration SQL yourself), one newer than this package wraps
// ErrSchemaVersion. New panics on a nil pool or an invalid
// Options.Schema, both wiring mistakes.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	if pool == nil {
		panic("pgstore: New with a nil pool")
	}
	opts.setDefaults()
	if !schemaName.MatchString(opts.Schema) {
		panic(fmt.Sprintf("pgstore: Options.Schema %q is not 1 to 48 bytes of [a-z0-9_] starting with a letter or '_'", opts.Schema))
	}
	s := &Store{
		pool:    pool,
		opts:    opts,
		schema:  pgx.Identifier{opts.Schema}.Sanitize(),
		channel: opts.Schema + "_changes",
	}
	s.q = newQueries(s.schema)
	s.feed.init(s)
	v, err := s.Version(ctx)
	if err != nil {
		return nil, err
	}
	if v > latestVersion() {
		return nil, fmt.Errorf("%w: schema %s is at version %d, this package knows %d", ErrSchemaVersion, opts.Schema, v, latestVersion())
	}
	return s, nil
}

// RecommendedConfig parses a connection string (a URL or key=value DSN)
// into a pool configuration whose waits are bounded, for the webhook's
// and the dashboard's calls: a statement_timeout of 5 s and a lock_timeout
// of 2 s (sent as run-time parameters, so they hold for every statement
// of every connection), idle transactions ended after 10 s, and
// connections dialled within 2 s. The caller's context deadline bounds each
// call as well. Change MaxConns and the rest as needed, then call
// pgxpool.NewWithConfig.
func RecommendedConfig(connString string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	cfg.ConnConfig.ConnectTimeout = 2 * time.Second
	rp := cfg.ConnConfig.RuntimeParams
	for k, v := range map[string]string{
		"statement_timeout":                   "5000",
		"lock_timeout":                        "2000",
		"idle_in_transaction_session_timeout": "10000",
		"application_name":                    "tracklink",
	} {
		if _, set := rp[k]; !set {
			rp[k] = v
		}
	}
	return cfg, nil
}

// Schema returns the schema the store's tables live in.
func (s *Store) Schema() string { return s.opts.Schema }

// Pool returns the store's pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close stops the live feed's listener (its connection is closed) and
// closes every Subscribe channel. It does not close the pool, which is the
// caller's. The store must not be used after Close.
func (s *Store) Close() { s.feed.close() }

func (s *Store) maxSources() int { return max(s.opts.MaxSources, 0) }

// wrap adds the package and operation to an error.
func wrap(op string, err error) error {
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

func invalid(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrInvalid, op, err)
}

func invalidf(op, format string, a ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalid, op}, a...)...)
}

// retry runs f, again when PostgreSQL aborted it for a deadlock
// (40P01) or a serialization failure (40001), up to Options.Retries more
// times. f must be one transaction (a single statement, or pgx.BeginFunc).
func (s *Store) retry(ctx context.Context, op string, f func() error) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = f()
		if err == nil {
			return nil
		}
		var pe *pgconn.PgError
		if attempt >= s.opts.Retries || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") || ctx.Err() != nil {
			break
		}
		// back off a little, more each time, so the other side finishes
		t := time.NewTimer(time.Duration(attempt+1) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return wrap(op, ctx.Err())
		case <-t.C:
		}
	}
	var conflict conflictError
	if errors.As(err, &conflict) || errors.Is(err, tracklink.ErrInvalid) {
		return err
	}
	return wrap(op, err)
}

// conflictError is a promo code conflict found inside a transaction.
type conflictError struct{ promo, owner string }

func (e conflictError) Error() string {
	return fmt.Sprintf("%v: promo code %q belongs to promoter %q", ErrConflict, e.promo, e.owner)
}

func (e conflictError) Unwrap() error { return ErrConflict }

// tx runs f in a transaction (retried as retry says).
func (s *Store) tx(ctx context.Context, op string, f func(pgx.Tx) error) error {
	return s.retry(ctx, op, func() error { return pgx.BeginFunc(ctx, s.pool, f) })
}

// lockPromoter takes the advisory lock on a promoter's figures that the
// SQL functions take (see the migration), for the rest of tx.
func lockPromoter(ctx context.Context, tx pgx.Tx, code string) error {
	_, err := tx.Exec(ctx, `select pg_advisory_xact_lock(1953263728, hashtext($1 || '/' || $2))`, organiser, code)
	return err
}

// clip shortens untrusted input quoted in an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// queries are the statements with the schema spliced in.
type queries struct {
	record, countVisits string
}

func newQueries(schema string) queries {
	r := strings.NewReplacer("tracklink.", schema+".")
	return queries{
		record: r.Replace(`select r_status, r_attribution, r_pending from tracklink.record_order(
			$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`),
		countVisits: r.Replace(`select tracklink.count_visits($1, $2, $3, $4, $5, $6, $7, $8)`),
	}
}

// sql splices the schema into a statement written with "tracklink.",
// once per statement.
func (s *Store) sql(stmt string) string {
	if v, ok := s.stmts.Load(stmt); ok {
		return v.(string)
	}
	v := strings.ReplaceAll(stmt, "tracklink.", s.schema+".")
	s.stmts.Store(stmt, v)
	return v
}
