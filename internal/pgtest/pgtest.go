// Package pgtest gives tests a PostgreSQL schema of their own: on the
// server at TRACKLINK_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable), each test
// creates a schema with a random name, gets a pool whose search_path is
// that schema, and drops that schema (and nothing else) when it ends: the
// server may be shared. Without a server the test is skipped with a
// message saying how to run it; with env CI set it fails instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tracklink/tracklink"
	"github.com/tracklink/tracklink/adapters/memstore"
	"github.com/tracklink/tracklink/adapters/pgstore"
)

// DefaultURL is the server tests use when TRACKLINK_POSTGRES_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var (
	probeOnce sync.Once
	probeErr  error
)

// URL returns the server's connection string.
func URL() string {
	if u := os.Getenv("TRACKLINK_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Available reports whether the server answers; it probes once per test
// binary.
func Available() error {
	probeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err != nil {
			probeErr = err
			return
		}
		defer conn.Close(context.Background())
		probeErr = conn.Ping(ctx)
	})
	return probeErr
}

// Require skips (or, with CI set, fails) the test when the server does not
// answer.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("PostgreSQL at %s does not answer (CI is set): %v", URL(), err)
		}
		tb.Skipf("PostgreSQL at %s does not answer (%v): start one on 127.0.0.1:5432 (user postgres, trust, database test) "+
			"or set TRACKLINK_POSTGRES_URL to run this test", URL(), err)
	}
}

// Schema returns a fresh schema name ("tltest_" and 16 hex digits); the
// schema is dropped when the test ends. Create it with CREATE SCHEMA, or
// let pgstore's Migrate create it.
func Schema(tb testing.TB) string {
	tb.Helper()
	Require(tb)
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "tltest_" + hex.EncodeToString(b[:])
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, URL())
		if err != nil {
			tb.Logf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "drop schema if exists "+pgx.Identifier{name}.Sanitize()+" cascade"); err != nil {
			tb.Logf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// Config returns a pool configuration for the server with the given
// search_path and at most maxConns connections (0: 16), with the
// statement timeout a test can afford on a loaded machine.
func Config(tb testing.TB, searchPath string, maxConns int32) *pgxpool.Config {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(URL())
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if maxConns <= 0 {
		maxConns = 16
	}
	cfg.MaxConns = maxConns
	cfg.ConnConfig.RuntimeParams["search_path"] = searchPath
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "30000"
	// a test database: do not wait for the WAL to reach the disk at commit
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	return cfg
}

// Pool returns a pool (closed when the test ends) whose search_path is a
// fresh schema (dropped when the test ends), and that schema's name.
func Pool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	schema := Schema(tb)
	pool, err := pgxpool.NewWithConfig(context.Background(), Config(tb, schema, 0))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close) // runs before the schema's drop (cleanups run last first)
	return pool, schema
}

// Ledger returns a migrated pgstore.Store on a fresh schema (opts.Schema is
// set), closed when the test ends.
func Ledger(tb testing.TB, opts pgstore.Options) *pgstore.Store {
	tb.Helper()
	return Instance(tb, Schema(tb), opts)
}

// Instance returns a migrated pgstore.Store on schema with a pool of its
// own, as another app instance sharing the database would have; both are
// closed when the test ends.
func Instance(tb testing.TB, schema string, opts pgstore.Options) *pgstore.Store {
	tb.Helper()
	pool, err := pgxpool.NewWithConfig(context.Background(), Config(tb, schema, 0))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	opts.Schema = schema
	s, err := pgstore.New(context.Background(), pool, opts)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Composed returns the production wiring on a fresh schema: sessions on
// memstore, the ledger on PostgreSQL, visits counted as they are stamped
// (so that a test reads them back at once).
func Composed(tb testing.TB) *tracklink.Split {
	tb.Helper()
	return tracklink.Compose(memstore.New(), Ledger(tb, pgstore.Options{}), tracklink.ComposeOptions{FlushInterval: -1})
}
