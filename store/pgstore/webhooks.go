package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/sqlshared"
)

// webhookCols lists the columns scanWebhook reads, for the table aliased w.
const webhookCols = `w.id, w.company_id, w.name, w.description, w.url, w.events, w.custom_headers,
	w.http_method, w.content_type, w.timeout_ns, w.max_retries, w.verify_ssl,
	w.auto_disable_after_failures, w.is_active, w.secret, w.consecutive_failures,
	w.disabled_reason, w.created_at, w.updated_at, w.filters`

// webhookDest returns scan destinations for webhookCols into w, and a
// function that finishes decoding once the row is scanned.
func webhookDest(w *webhooks.Webhook) ([]any, func() error) {
	var (
		events, headers []byte
		timeout         int64
		filters         *string
	)
	dest := []any{&w.ID, &w.CompanyID, &w.Name, &w.Description, &w.URL, &events, &headers,
		&w.HTTPMethod, &w.ContentType, &timeout, &w.MaxRetries, &w.VerifySSL,
		&w.AutoDisableAfterFailures, &w.IsActive, &w.Secret, &w.ConsecutiveFailures,
		&w.DisabledReason, &w.CreatedAt, &w.UpdatedAt, &filters}
	return dest, func() error {
		if err := sqlshared.DecodeWebhookConfig(w, events, headers); err != nil {
			return err
		}
		w.Timeout = time.Duration(timeout)
		w.Filters = sqlshared.FiltersFromColumn(filters)
		w.CreatedAt, w.UpdatedAt = utc(w.CreatedAt), utc(w.UpdatedAt)
		return nil
	}
}

func scanWebhook(row pgx.Row) (*webhooks.Webhook, error) {
	w := new(webhooks.Webhook)
	dest, finish := webhookDest(w)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return w, finish()
}

func (s *Store) queryWebhooks(ctx context.Context, query string, args ...any) ([]*webhooks.Webhook, error) {
	rows, err := s.db().Query(ctx, s.sql(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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

// webhookConfig encodes the jsonb columns of w.
func webhookConfig(w *webhooks.Webhook) (events, headers string, err error) {
	e, h, err := sqlshared.EncodeWebhookConfig(w)
	return string(e), string(h), err
}

const insertWebhookSQL = `INSERT INTO {s}.webhooks_endpoints (company_id, name, description, url,
	events, custom_headers, http_method, content_type, timeout_ns, max_retries, verify_ssl,
	auto_disable_after_failures, is_active, secret, consecutive_failures, disabled_reason,
	created_at, updated_at, filters)
SELECT $1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19`

// CreateWebhook stores w and sets w.ID. Zero CreatedAt and UpdatedAt become
// the current time; both are written back to w as stored (UTC, whole
// microseconds). When maxPerCompany > 0 and w's company (the system-wide
// webhooks, for one without a company) already has that many webhooks, it
// fails with an error wrapping webhooks.ErrWebhookLimit. The count and the
// insert are atomic across processes: they run in one transaction holding
// an advisory lock on (schema, company).
func (s *Store) CreateWebhook(ctx context.Context, w *webhooks.Webhook, maxPerCompany int) error {
	if w == nil {
		return fmt.Errorf("pgstore: create webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	events, headers, err := webhookConfig(w)
	if err != nil {
		return fmt.Errorf("pgstore: create webhook: %w", err)
	}
	created, updated := w.CreatedAt, w.UpdatedAt
	if created.IsZero() {
		created = time.Now()
	}
	if updated.IsZero() {
		updated = created
	}
	created, updated = micro(created), micro(updated)
	args := []any{w.CompanyID, w.Name, w.Description, w.URL, events, headers,
		w.HTTPMethod, w.ContentType, int64(w.Timeout), w.MaxRetries, w.VerifySSL,
		w.AutoDisableAfterFailures, w.IsActive, w.Secret, w.ConsecutiveFailures,
		w.DisabledReason, created, updated, sqlshared.FiltersColumn(w.Filters)}
	var id int64
	if maxPerCompany <= 0 {
		err = s.db().QueryRow(ctx, s.sql(insertWebhookSQL+` RETURNING id`), args...).Scan(&id)
	} else {
		company := "system"
		if w.CompanyID != nil {
			company = strconv.FormatInt(*w.CompanyID, 10)
		}
		// The count must see every committed insert, so it runs in a
		// statement that starts after the lock is held.
		err = s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("company", s.schema, company)); err != nil {
				return err
			}
			return tx.QueryRow(ctx, s.sql(insertWebhookSQL+`
WHERE (SELECT count(*) FROM {s}.webhooks_endpoints WHERE company_id IS NOT DISTINCT FROM $1) < $20
RETURNING id`), append(args, maxPerCompany)...).Scan(&id)
		})
		if isNoRows(err) {
			return fmt.Errorf("pgstore: create webhook: %d webhooks: %w", maxPerCompany, webhooks.ErrWebhookLimit)
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: create webhook: %w", err)
	}
	w.ID = id
	w.CreatedAt, w.UpdatedAt = created, updated
	return nil
}

// GetWebhook returns the webhook with that ID, including its secret, or an
// error wrapping webhooks.ErrNotFound. ClientID is left "": a store holds
// one client and does not record it.
func (s *Store) GetWebhook(ctx context.Context, id int64) (*webhooks.Webhook, error) {
	w, err := scanWebhook(s.db().QueryRow(ctx, s.sql(`SELECT `+webhookCols+`
FROM {s}.webhooks_endpoints AS w WHERE w.id = $1`), id))
	switch {
	case isNoRows(err):
		return nil, notFound("webhook", id)
	case err != nil:
		return nil, fmt.Errorf("pgstore: get webhook %d: %w", id, err)
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
		return fmt.Errorf("pgstore: update webhook: nil webhook: %w", webhooks.ErrInvalid)
	}
	events, headers, err := webhookConfig(w)
	if err != nil {
		return fmt.Errorf("pgstore: update webhook %d: %w", w.ID, err)
	}
	updated := w.UpdatedAt
	if updated.IsZero() {
		updated = time.Now()
	}
	updated = micro(updated)
	tag, err := s.db().Exec(ctx, s.sql(`UPDATE {s}.webhooks_endpoints SET name = $1, description = $2,
	url = $3, events = $4::jsonb, custom_headers = $5::jsonb, http_method = $6, content_type = $7,
	timeout_ns = $8, max_retries = $9, verify_ssl = $10, auto_disable_after_failures = $11, updated_at = $12,
	filters = $13
WHERE id = $14`),
		w.Name, w.Description, w.URL, events, headers, w.HTTPMethod, w.ContentType,
		int64(w.Timeout), w.MaxRetries, w.VerifySSL, w.AutoDisableAfterFailures, updated,
		sqlshared.FiltersColumn(w.Filters), w.ID)
	if err := oneRow(tag.RowsAffected(), err, "update", w.ID); err != nil {
		return err
	}
	w.UpdatedAt = updated
	return nil
}

// oneRow turns the outcome of a single-row write (op, e.g. "update") of a
// webhook into nil, an ErrNotFound or the statement's error.
func oneRow(n int64, err error, op string, id int64) error {
	if err != nil {
		return fmt.Errorf("pgstore: %s webhook %d: %w", op, id, err)
	}
	if n == 0 {
		return notFound("webhook", id)
	}
	return nil
}

// SetWebhookActive enables a webhook, resetting its consecutive failures and
// disabled reason, or disables it recording reason; UpdatedAt becomes now.
// Enabling notifies the schema's channel in the same transaction, since the
// webhook's waiting deliveries become due. A missing webhook gives an error
// wrapping webhooks.ErrNotFound.
func (s *Store) SetWebhookActive(ctx context.Context, id int64, active bool, reason string, now time.Time) error {
	if !active {
		tag, err := s.db().Exec(ctx, s.sql(`UPDATE {s}.webhooks_endpoints SET is_active = false,
	disabled_reason = $1, updated_at = $2 WHERE id = $3`), text(reason), micro(now), id)
		return oneRow(tag.RowsAffected(), err, "update", id)
	}
	var n int64
	err := s.db().QueryRow(ctx, s.sql(`WITH u AS (
	UPDATE {s}.webhooks_endpoints SET is_active = true, consecutive_failures = 0,
		disabled_reason = '', updated_at = $1
	WHERE id = $2 RETURNING id
), wake AS (
	SELECT pg_notify($3, '') FROM u
)
SELECT (SELECT count(*) FROM u) + 0 * (SELECT count(*) FROM wake)`), micro(now), id, s.channel).Scan(&n)
	return oneRow(n, err, "update", id)
}

// SetWebhookSecret replaces a webhook's secret; UpdatedAt becomes now. A
// missing webhook gives an error wrapping webhooks.ErrNotFound.
func (s *Store) SetWebhookSecret(ctx context.Context, id int64, secret string, now time.Time) error {
	tag, err := s.db().Exec(ctx, s.sql(`UPDATE {s}.webhooks_endpoints SET secret = $1, updated_at = $2
WHERE id = $3`), secret, micro(now), id)
	return oneRow(tag.RowsAffected(), err, "update", id)
}

// DeleteWebhook removes a webhook; its deliveries and their attempts go
// with it (ON DELETE CASCADE), in the same statement. Events stay (they
// keep Enqueue idempotent) until Purge removes them. A missing webhook gives
// an error wrapping webhooks.ErrNotFound.
func (s *Store) DeleteWebhook(ctx context.Context, id int64) error {
	tag, err := s.db().Exec(ctx, s.sql(`DELETE FROM {s}.webhooks_endpoints WHERE id = $1`), id)
	return oneRow(tag.RowsAffected(), err, "delete", id)
}

// ListWebhooks returns webhooks ordered by ID: those of p.CompanyID when
// set, else the system-wide ones when p.OnlySystemWide, else all.
func (s *Store) ListWebhooks(ctx context.Context, p webhooks.ListWebhooksParams) ([]*webhooks.Webhook, error) {
	q := `SELECT ` + webhookCols + ` FROM {s}.webhooks_endpoints AS w`
	var args []any
	switch {
	case p.CompanyID != nil:
		q += ` WHERE w.company_id = $1`
		args = append(args, *p.CompanyID)
	case p.OnlySystemWide:
		q += ` WHERE w.company_id IS NULL`
	}
	ws, err := s.queryWebhooks(ctx, q+` ORDER BY w.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list webhooks: %w", err)
	}
	return ws, nil
}

// MatchWebhooks returns, ordered by ID, the active webhooks that receive an
// event of type p.EventType: the system-wide ones and, when p.CompanyID is
// set, that company's, whose Events select the type (webhooks.MatchAny).
// The query keeps only webhooks listing a pattern that can select the type
// ("*", the type, or a "resource.*" prefix of it); webhooks.MatchAny
// decides.
func (s *Store) MatchWebhooks(ctx context.Context, p webhooks.MatchParams) ([]*webhooks.Webhook, error) {
	patterns := []string{webhooks.WildcardPattern, p.EventType}
	for i := 0; i < len(p.EventType); i++ {
		if p.EventType[i] == '.' {
			patterns = append(patterns, p.EventType[:i]+".*")
		}
	}
	q := `SELECT ` + webhookCols + ` FROM {s}.webhooks_endpoints AS w
WHERE w.is_active AND w.events ?| $1::text[] AND `
	args := []any{patterns}
	if p.CompanyID != nil {
		q += `(w.company_id IS NULL OR w.company_id = $2)`
		args = append(args, *p.CompanyID)
	} else {
		q += `w.company_id IS NULL`
	}
	ws, err := s.queryWebhooks(ctx, q+` ORDER BY w.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: match webhooks: %w", err)
	}
	return sqlshared.MatchingEvent(ws, p.EventType), nil
}
