package pgstore

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/webhookkit/webhooks/internal/sqlshared"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order. Each file is
// named NNNN_description.sql; NNNN is its version.
func migrations() ([]sqlshared.Migration, error) {
	return sqlshared.Migrations(migrationFiles, "migrations")
}

// SchemaVersion is the highest migration version this package applies.
func SchemaVersion() int { return sqlshared.SchemaVersion(migrationFiles, "migrations") }

// migrate brings the schema up to date. When it already is, it only reads
// the applied version, so a role without DDL rights can run on a schema an
// administrator migrated. Otherwise it takes a transaction-scoped advisory
// lock derived from the schema name, creates the schema if missing, and
// applies the missing migrations with search_path set to the schema, each
// recorded in webhooks_schema_migrations, all in one transaction: processes
// starting at once queue on the lock, and the later ones find the work done.
// A schema migrated by a newer version of this package is accepted.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	latest := ms[len(ms)-1].Version
	if v, err := s.appliedVersion(ctx, s.pool); err != nil {
		return err
	} else if v >= latest {
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("migrate", s.schema)); err != nil {
			return fmt.Errorf("migrations: lock: %w", err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`,
			s.schema).Scan(&exists); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		if !exists {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+quoteIdent(s.schema)); err != nil {
				return fmt.Errorf("migrations: create schema: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, s.sql(`CREATE TABLE IF NOT EXISTS {s}.webhooks_schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`)); err != nil {
			return fmt.Errorf("migrations: create table webhooks_schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, s.sql(`SELECT version FROM {s}.webhooks_schema_migrations`))
		if err != nil {
			return fmt.Errorf("migrations: read applied versions: %w", err)
		}
		applied := map[int]bool{}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return fmt.Errorf("migrations: read applied versions: %w", err)
			}
			applied[v] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("migrations: read applied versions: %w", err)
		}
		// Migration files name their tables without a schema.
		if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+quoteIdent(s.schema)); err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		for _, m := range ms {
			if applied[m.Version] {
				continue
			}
			// No arguments: the simple protocol, which runs every statement
			// of the file.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, s.sql(`INSERT INTO {s}.webhooks_schema_migrations (version, name) VALUES ($1, $2)`),
				m.Version, m.Name); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// appliedVersion returns the highest applied migration, 0 when the schema
// or its migrations table does not exist yet.
func (s *Store) appliedVersion(ctx context.Context, q querier) (int, error) {
	var table *string
	if err := q.QueryRow(ctx, `SELECT to_regclass($1)::text`,
		quoteIdent(s.schema)+".webhooks_schema_migrations").Scan(&table); err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	if table == nil {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, s.sql(`SELECT coalesce(max(version), 0) FROM {s}.webhooks_schema_migrations`)).Scan(&v); err != nil {
		return 0, fmt.Errorf("migrations: read applied versions: %w", err)
	}
	return v, nil
}
