package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"fmt"
	"time"

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

// migrate applies the missing migrations in one BEGIN IMMEDIATE transaction,
// so concurrent Opens (in one process or several) run them once: the
// second waits for the write lock, then finds them recorded. The explicit
// BEGIN IMMEDIATE works whatever _txlock the DSN sets.
func migrate(ctx context.Context, db *sql.DB) (err error) {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrations: connect: %w", err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("migrations: begin: %w", err)
	}
	if err := applyMigrations(ctx, conn, ms); err != nil {
		rollbackConn(ctx, conn)
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		rollbackConn(ctx, conn)
		return fmt.Errorf("migrations: commit: %w", err)
	}
	return nil
}

// rollbackConn ends the transaction migrate began by hand. If that fails the
// connection's state is unknown, so it is thrown away rather than pooled.
func rollbackConn(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

func applyMigrations(ctx context.Context, q querier, ms []sqlshared.Migration) error {
	if _, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS webhooks_schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at INTEGER NOT NULL -- unix microseconds, UTC
)`); err != nil {
		return fmt.Errorf("create table webhooks_schema_migrations: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT version FROM webhooks_schema_migrations`)
	if err != nil {
		return fmt.Errorf("read applied versions: %w", err)
	}
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			_ = rows.Close()
			return err
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := q.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO webhooks_schema_migrations (version, applied_at) VALUES (?, ?)`,
			m.Version, toMicros(time.Now())); err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	return nil
}
