package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// stmtCache keeps the statements of the store's own write transactions
// prepared on the write pool, so SQLite compiles each once per connection
// rather than once per transaction (compiling was about 7% of the CPU of a
// delivery in the end-to-end benchmark). They are prepared when the store
// opens: Open's pool has a single connection, so preparing on the pool
// from inside a transaction would wait for the transaction's own
// connection forever.
type stmtCache struct {
	m map[string]*sql.Stmt // read-only after newStmtCache
}

func newStmtCache(ctx context.Context, db *sql.DB, queries []string) (*stmtCache, error) {
	c := &stmtCache{m: make(map[string]*sql.Stmt, len(queries))}
	for _, q := range queries {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			_ = c.close()
			return nil, fmt.Errorf("preparing statements: %w", err)
		}
		c.m[q] = st
	}
	return c, nil
}

func (c *stmtCache) close() error {
	var errs []error
	for _, st := range c.m {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}

// prepare returns query as a statement of q, which the caller closes. In
// the store's own transactions it is the cached statement bound to the
// transaction; in a host transaction (WithTx), whose connection belongs to
// another pool, it is prepared afresh.
func (s *Store) prepare(ctx context.Context, q querier, query string) (*sql.Stmt, error) {
	tx, ok := q.(*sql.Tx)
	if !ok || s.tx != nil || s.stmts == nil {
		return q.PrepareContext(ctx, query)
	}
	st, ok := s.stmts.m[query]
	if !ok {
		return q.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}
