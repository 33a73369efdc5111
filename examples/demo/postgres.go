package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/pgstore"
)

// demoSchema is the PostgreSQL schema the demo keeps its ledger in.
const demoSchema = "tracklink_demo"

// composed is the demo's Store over a tracklink.Split; Flush lets a test
// read visits at once.
type composed struct{ *tracklink.Split }

// postgresStore puts the order ledger, the registry and the figures on
// PostgreSQL (in schema, migrated at start) and keeps the sessions
// on sessions (nil: a fresh memstore), as a production host would with
// Redis sessions. It returns the composed store and a func that flushes
// its buffered visits and closes the pool.
func postgresStore(url, schema string, sessions tracklink.SessionStore, log *slog.Logger) (Store, func(), error) {
	cfg, err := pgstore.RecommendedConfig(url)
	if err != nil {
		return nil, nil, fmt.Errorf("-postgres: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("-postgres: %w", err)
	}
	ledger, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema})
	if err == nil {
		err = ledger.Migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("postgres %s: %w", cfg.ConnConfig.Host, err)
	}
	if sessions == nil {
		sessions = memstore.New()
	}
	s := tracklink.Compose(sessions, ledger, tracklink.ComposeOptions{
		OnError: func(_ context.Context, err error) { log.Warn("tracklink: visits", "error", err) },
	})
	return composed{s}, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			log.Warn("tracklink: last visits not counted", "error", err)
		}
		ledger.Close()
		pool.Close()
	}, nil
}
