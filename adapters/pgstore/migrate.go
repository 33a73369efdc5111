package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The migrations, one file per schema version, named NNNN_name.sql. Each
// file records itself in tracklink.schema_migrations, so that operators
// who run migrations themselves (psql --single-transaction -f …) and
// Migrate agree on the version.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string // written for the schema "tracklink"
}

var migrations = func() []migration {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			panic("pgstore: migration file " + e.Name() + " is not NNNN_name.sql")
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			panic(err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			panic(fmt.Sprintf("pgstore: migration versions must be 1, 2, 3…; found %d at %d", m.version, i+1))
		}
	}
	return ms
}()

func latestVersion() int { return len(migrations) }

// schemaWord matches the schema name in the migration files.
var schemaWord = regexp.MustCompile(`\btracklink\b`)

// MigrationSQL returns the SQL of the migrations after version from (0 for
// all of them), for the store's schema, in order: what Migrate runs, for
// operators who apply migrations with their own tools. Run each in one
// transaction.
func (s *Store) MigrationSQL(from int) []string {
	var out []string
	for _, m := range migrations {
		if m.version > from {
			out = append(out, schemaWord.ReplaceAllLiteralString(m.sql, s.schema))
		}
	}
	return out
}

// Version returns the schema's version: 0 when it was never migrated.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v *int
	err := s.pool.QueryRow(ctx, s.sql(`select max(version) from tracklink.schema_migrations`)).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") { // undefined table, schema
		return 0, nil
	}
	if err != nil {
		return 0, wrap("version", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// Migrate brings the schema to the version this package needs, creating
// it if needed: it runs every migration newer than the schema's version,
// in one transaction, holding an advisory lock so that instances starting
// together migrate once. Call it at start-up (or run MigrationSQL's
// statements yourself). It is a no-op on an up-to-date schema.
func (s *Store) Migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(1953262957, hashtext($1))`, s.opts.Schema); err != nil {
			return wrap("migrate", err)
		}
		var exists bool
		err := tx.QueryRow(ctx, `select exists (select 1 from pg_catalog.pg_tables where schemaname = $1 and tablename = 'schema_migrations')`, s.opts.Schema).Scan(&exists)
		if err != nil {
			return wrap("migrate", err)
		}
		current := 0
		if exists {
			var v *int
			if err := tx.QueryRow(ctx, s.sql(`select max(version) from tracklink.schema_migrations`)).Scan(&v); err != nil {
				return wrap("migrate", err)
			}
			if v != nil {
				current = *v
			}
		}
		if current > latestVersion() {
			return fmt.Errorf("%w: schema %s is at version %d, this package knows %d", ErrSchemaVersion, s.opts.Schema, current, latestVersion())
		}
		for i, stmt := range s.MigrationSQL(current) {
			// simple protocol: a file holds many statements
			if _, err := tx.Exec(ctx, stmt, pgx.QueryExecModeSimpleProtocol); err != nil {
				return wrap(fmt.Sprintf("migrate to version %d", current+i+1), err)
			}
		}
		return nil
	})
}
