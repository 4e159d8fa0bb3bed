package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/sqlshared"
)

const webhookCols = `id, company_id, name, description, url, events, custom_headers,
	http_method, content_type, timeout_ns, max_retries, verify_ssl,
	auto_disable_after_failures, is_active, secret, consecutive_failures,
	disabled_reason, created_at, updated_at, filters`

type scanner interface{ Scan(dest ...any) error }

func scanWebhook(sc scanner) (*webhooks.Webhook, error) {
	var (
		w                  webhooks.Webhook
		company            sql.NullInt64
		events, headers    []byte
		timeout            int64
		created, updated   int64
		verifySSL, isActiv bool
		filters            *string
	)
	if err := sc.Scan(&w.ID, &company, &w.Name, &w.Description, &w.URL, &events, &headers,
		&w.HTTPMethod, &w.ContentType, &timeout, &w.MaxRetries, &verifySSL,
		&w.AutoDisableAfterFailures, &isActiv, &w.Secret, &w.ConsecutiveFailures,
		&w.DisabledReason, &created, &updated, &filters); err != nil {
		return nil, err
	}
	if err := sqlshared.DecodeWebhookConfig(&w, events, headers); err != nil {
		return nil, err
	}
	w.Filters = sqlshared.FiltersFromColumn(filters)
	w.CompanyID = intPtr(company)
	w.Timeout = time.Duration(timeout)
	w.VerifySSL = verifySSL
	w.IsActive = isActiv
	w.CreatedAt = fromMicros(created)
	w.UpdatedAt = fromMicros(updated)
	return &w, nil
}

func notFound(what string, id int64) error {
	return fmt.Errorf("sqlitestore: %s %d: %w", what, id, webhooks.ErrNotFound)
}

// CreateWebhook stores w and sets w.ID. Zero CreatedAt and UpdatedAt become
// the current time; both are written back to w as stored (UTC, whole
// microseconds). When maxPerCompany > 0 and w's company (company_id IS NULL
// for a system-wide webhook) already has that many webhooks, it fails with an
// error wrapping webhooks.ErrWebhookLimit. The count and the insert are one
// INSERT … SELECT statement, so they are atomic even across processes.
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, maxPerCompany int) error {
	if w == nil {
		return fmt.Errorf("sqlitestore: create webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	events, headers, err := sqlshared.EncodeWebhookConfig(w)
	if err != nil {
		return fmt.Errorf("sqlitestore: create webhook: %w", err)
	}
	now := time.Now()
	created, updated := w.CreatedAt, w.UpdatedAt
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = created
	}
	args := []any{nullInt(w.CompanyID), w.Name, w.Description, w.URL, string(events), string(headers),
		w.HTTPMethod, w.ContentType, int64(w.Timeout), w.MaxRetries, w.VerifySSL,
		w.AutoDisableAfterFailures, w.IsActive, w.Secret, w.ConsecutiveFailures,
		w.DisabledReason, toMicros(created), toMicros(updated), sqlshared.FiltersColumn(w.Filters)}
	const insert = `INSERT INTO webhooks_endpoints (company_id, name, description, url, events,
	custom_headers, http_method, content_type, timeout_ns, max_retries, verify_ssl,
	auto_disable_after_failures, is_active, secret, consecutive_failures, disabled_reason,
	created_at, updated_at, filters) `
	var q string
	if maxPerCompany > 0 {
		q = insert + `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
	WHERE (SELECT count(*) FROM webhooks_endpoints WHERE company_id IS ?) < ?
	RETURNING id`
		args = append(args, nullInt(w.CompanyID), maxPerCompany)
	} else {
		q = insert + `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	}
	var id int64
	switch err := s.wq().QueryRowContext(ctx, q, args...).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlitestore: create webhook: %d webhooks: %w", maxPerCompany, webhooks.ErrWebhookLimit)
	case err != nil:
		return fmt.Errorf("sqlitestore: create webhook: %w", err)
	}
	w.ID = id
	w.CreatedAt, w.UpdatedAt = normTime(created), normTime(updated)
	return nil
}

// GetWebhook returns the webhook with that ID, including its secret, or an
// error wrapping webhooks.ErrNotFound. ClientID is left "": a store holds
// one client and does not record it.
func (s *Store) GetWebhook(ctx context.Context, id int64) (*webhooks.Webhook, error) {
	w, err := scanWebhook(s.rq().QueryRowContext(ctx,
		`SELECT `+webhookCols+` FROM webhooks_endpoints WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFound("webhook", id)
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: get webhook %d: %w", id, err)
	}
	return w, nil
}

// UpdateWebhook overwrites the configuration of webhook w.ID: name,
// description, URL, events, custom headers, filters, method, content type,
// timeout, retries, TLS verification, auto-disable threshold and UpdatedAt
// (the current time when zero; written back to w as stored). Company,
// secret, activity, failure counter and CreatedAt are kept. A missing
// webhook gives an error wrapping webhooks.ErrNotFound.
func (s *Store) UpdateWebhook(ctx context.Context, w *webhooks.Webhook) error {
	if w == nil {
		return fmt.Errorf("sqlitestore: update webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	events, headers, err := sqlshared.EncodeWebhookConfig(w)
	if err != nil {
		return fmt.Errorf("sqlitestore: update webhook %d: %w", w.ID, err)
	}
	updated := w.UpdatedAt
	if updated.IsZero() {
		updated = time.Now()
	}
	res, err := s.wq().ExecContext(ctx, `UPDATE webhooks_endpoints SET name = ?, description = ?,
	url = ?, events = ?, custom_headers = ?, http_method = ?, content_type = ?, timeout_ns = ?,
	max_retries = ?, verify_ssl = ?, auto_disable_after_failures = ?, updated_at = ?, filters = ?
	WHERE id = ?`,
		w.Name, w.Description, w.URL, string(events), string(headers), w.HTTPMethod, w.ContentType,
		int64(w.Timeout), w.MaxRetries, w.VerifySSL, w.AutoDisableAfterFailures, toMicros(updated),
		sqlshared.FiltersColumn(w.Filters), w.ID)
	if err := oneRow(res, err, "webhook", w.ID); err != nil {
		return err
	}
	w.UpdatedAt = normTime(updated)
	return nil
}

// oneRow turns the result of a single-row UPDATE or DELETE into nil, an
// ErrNotFound or the statement's error.
func oneRow(res sql.Result, err error, what string, id int64) error {
	if err != nil {
		return fmt.Errorf("sqlitestore: %s %d: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlitestore: %s %d: %w", what, id, err)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// SetWebhookActive enables a webhook, resetting its consecutive failures and
// disabled reason, or disables it recording reason; UpdatedAt becomes now. A
// missing webhook gives an error wrapping webhooks.ErrNotFound.
func (s *Store) SetWebhookActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error {
	var (
		res sql.Result
		err error
	)
	if active {
		res, err = s.wq().ExecContext(ctx, `UPDATE webhooks_endpoints SET is_active = 1,
	consecutive_failures = 0, disabled_reason = '', updated_at = ? WHERE id = ?`, toMicros(now), id)
	} else {
		res, err = s.wq().ExecContext(ctx, `UPDATE webhooks_endpoints SET is_active = 0,
	disabled_reason = ?, updated_at = ? WHERE id = ?`, reason, toMicros(now), id)
	}
	return oneRow(res, err, "webhook", id)
}

// SetWebhookSecret replaces a webhook's secret; UpdatedAt becomes now. A
// missing webhook gives an error wrapping webhooks.ErrNotFound.
func (s *Store) SetWebhookSecret(ctx context.Context, id int64, secret string, now time.Time) error {
	res, err := s.wq().ExecContext(ctx,
		`UPDATE webhooks_endpoints SET secret = ?, updated_at = ? WHERE id = ?`, secret, toMicros(now), id)
	return oneRow(res, err, "webhook", id)
}

// DeleteWebhook removes a webhook with its deliveries and their attempts, in
// one transaction. The rows are deleted explicitly, so this holds even on a
// host connection without foreign keys. Events stay (they keep Enqueue
// idempotent) until Purge removes them. A missing webhook gives an error
// wrapping webhooks.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	err := s.inWriteTx(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `DELETE FROM webhooks_attempts WHERE delivery_id IN
	(SELECT id FROM webhooks_deliveries WHERE webhook_id = ?)`, id); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM webhooks_deliveries WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `DELETE FROM webhooks_endpoints WHERE id = ?`, id)
		return oneRow(res, err, "webhook", id)
	})
	switch {
	case errors.Is(err, webhooks.ErrNotFound):
		return err
	case err != nil:
		return fmt.Errorf("sqlitestore: delete webhook %d: %w", id, err)
	}
	return nil
}

// ListWebhooks returns webhooks ordered by ID: those of p.CompanyID when
// set, else the system-wide ones when p.OnlySystemWide, else all.
func (s *Store) ListWebhooks(ctx context.Context, p webhooks.ListWebhooksParams) ([]*webhooks.Webhook, error) {
	q := `SELECT ` + webhookCols + ` FROM webhooks_endpoints`
	var args []any
	switch {
	case p.CompanyID != nil:
		q += ` WHERE company_id = ?`
		args = append(args, *p.CompanyID)
	case p.OnlySystemWide:
		q += ` WHERE company_id IS NULL`
	}
	ws, err := s.queryWebhooks(ctx, s.rq(), q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list webhooks: %w", err)
	}
	return ws, nil
}

// MatchWebhooks returns, ordered by ID, the active webhooks that receive an
// event of type p.EventType: the system-wide ones and, when p.CompanyID is
// set, that company's, whose Events select the type (webhooks.MatchAny).
func (s *Store) MatchWebhooks(ctx context.Context, p webhooks.MatchParams) ([]*webhooks.Webhook, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + webhookCols + ` FROM webhooks_endpoints WHERE is_active = 1 AND `)
	var args []any
	if p.CompanyID != nil {
		b.WriteString(`(company_id IS NULL OR company_id = ?)`)
		args = append(args, *p.CompanyID)
	} else {
		b.WriteString(`company_id IS NULL`)
	}
	b.WriteString(` ORDER BY id`)
	ws, err := s.queryWebhooks(ctx, s.rq(), b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: match webhooks: %w", err)
	}
	return sqlshared.MatchingEvent(ws, p.EventType), nil
}

func (s *Store) queryWebhooks(ctx context.Context, q querier, query string, args ...any) ([]*webhooks.Webhook, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []*webhooks.Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
