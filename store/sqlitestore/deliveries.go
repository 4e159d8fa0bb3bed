package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/sqlshared"
)

// Limits of ListDeliveries and Purge.
const (
	// DefaultListLimit is the page size of ListDeliveries when
	// ListDeliveriesParams.Limit <= 0: 20.
	DefaultListLimit = 20
	// MaxListLimit caps ListDeliveriesParams.Limit: 1000.
	MaxListLimit = 1000
	// PurgeBatch is how many deliveries Purge deletes per transaction, so a
	// large purge never holds the write lock for long: 1000.
	PurgeBatch = 1000
)

// The statements of the store's write transactions, prepared once (see
// stmtCache).
const (
	enqueueEventSQL = `INSERT INTO webhooks_events
	(event_id, event_type, company_id, payload, created_at) VALUES (?, ?, ?, ?, ?)
	ON CONFLICT (event_id) DO NOTHING RETURNING id`
	enqueueDeliverySQL = `INSERT INTO webhooks_deliveries
	(event_pk, webhook_id, status, attempt_count, next_attempt_at, lease_until, token, created_at, updated_at)
	SELECT ?, id, 'PENDING', 0, ?, ?, ?, ?, ? FROM webhooks_endpoints WHERE id = ?
	RETURNING id`
	completeDeliverySQL = `UPDATE webhooks_deliveries SET status = ?, attempt_count = attempt_count + 1,
	next_attempt_at = coalesce(?, next_attempt_at), lease_until = NULL, response_status = ?,
	error_message = ?, duration_ns = ?, updated_at = ?
	WHERE id = ? AND token = ? AND lease_until IS NOT NULL
	RETURNING webhook_id, attempt_count`
	insertAttemptSQL = `INSERT INTO webhooks_attempts (delivery_id, number, started_at,
	request_headers, response_status, response_headers, response_body, duration_ns, error)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	resetFailuresSQL = `UPDATE webhooks_endpoints SET consecutive_failures = 0
	WHERE id = ? AND consecutive_failures <> 0`
	countFailureSQL = `UPDATE webhooks_endpoints SET consecutive_failures = consecutive_failures + 1
	WHERE id = ? RETURNING consecutive_failures, auto_disable_after_failures`
	autoDisableSQL = `UPDATE webhooks_endpoints SET is_active = 0, disabled_reason = ?, updated_at = ?
	WHERE id = ? AND is_active = 1`
	releaseSQL = `UPDATE webhooks_deliveries SET lease_until = NULL
	WHERE id = ? AND token = ? AND lease_until IS NOT NULL`
)

// writeStatements are prepared when the store opens.
var writeStatements = []string{enqueueEventSQL, enqueueDeliverySQL, completeDeliverySQL, insertAttemptSQL, resetFailuresSQL, countFailureSQL, autoDisableSQL, releaseSQL}

// Enqueue stores each event once (its payload included) and one PENDING
// delivery, due at CreatedAt (the current time when zero), per listed
// webhook that still exists; a webhook listed twice gets one delivery. An
// event whose ID is already stored is reported Duplicate and adds nothing.
// With Lease > 0 the deliveries are created claimed until CreatedAt+Lease
// with token 1. All events go in one transaction with statements prepared
// once; results follow the order of events. An empty EventID fails with an
// error wrapping webhooks.ErrInvalid.
func (s *Store) Enqueue(ctx context.Context, events []webhooks.EnqueueEvent) ([]webhooks.EnqueueResult, error) {
	for i := range events {
		if events[i].EventID == "" {
			return nil, fmt.Errorf("sqlitestore: enqueue: event %d has no ID: %w", i, webhooks.ErrInvalid)
		}
	}
	if len(events) == 0 {
		return []webhooks.EnqueueResult{}, nil
	}
	now := time.Now()
	var results []webhooks.EnqueueResult
	err := s.inWriteTx(ctx, func(q querier) error {
		results = make([]webhooks.EnqueueResult, len(events))
		insEvent, err := s.prepare(ctx, q, enqueueEventSQL)
		if err != nil {
			return err
		}
		defer func() { _ = insEvent.Close() }()
		insDelivery, err := s.prepare(ctx, q, enqueueDeliverySQL)
		if err != nil {
			return err
		}
		defer func() { _ = insDelivery.Close() }()

		seen := map[int64]bool{}
		for i := range events {
			ev := &events[i]
			created := ev.CreatedAt
			if created.IsZero() {
				created = now
			}
			at := toMicros(created)
			payload := ev.Payload
			if payload == nil {
				payload = []byte{}
			}
			var pk int64
			switch err := insEvent.QueryRowContext(ctx, ev.EventID, ev.EventType, nullInt(ev.CompanyID), payload, at).Scan(&pk); {
			case errors.Is(err, sql.ErrNoRows):
				results[i].Duplicate = true
				continue
			case err != nil:
				return fmt.Errorf("event %q: %w", ev.EventID, err)
			}

			clear(seen)
			for _, wid := range ev.WebhookIDs {
				if seen[wid] {
					continue // listed twice: one delivery
				}
				seen[wid] = true
				var leaseUntil any
				var token int64
				if ev.Leased(wid) {
					leaseUntil, token = leaseEnd(created, ev.Lease), 1
				}
				var id int64
				switch err := insDelivery.QueryRowContext(ctx, pk, at, leaseUntil, token, at, at, wid).Scan(&id); {
				case errors.Is(err, sql.ErrNoRows): // webhook deleted meanwhile
					continue
				case err != nil:
					return fmt.Errorf("event %q, webhook %d: %w", ev.EventID, wid, err)
				}
				results[i].Deliveries = append(results[i].Deliveries,
					webhooks.EnqueuedDelivery{ID: id, WebhookID: wid, Token: token})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: enqueue: %w", err)
	}
	return results, nil
}

// leaseEnd is from+lease in microseconds, at least one microsecond later.
func leaseEnd(from time.Time, lease time.Duration) int64 {
	start, end := toMicros(from), toMicros(from.Add(lease))
	if end <= start {
		end = start + 1
	}
	return end
}

// deliveryCols select a delivery joined (as d) with its event (as e).
const deliveryCols = `d.id, e.event_id, e.event_type, e.company_id, d.webhook_id, d.status,
	d.attempt_count, d.next_attempt_at, d.response_status, d.error_message, d.duration_ns,
	d.created_at, d.updated_at`

func scanDelivery(sc scanner, extra ...any) (*webhooks.Delivery, error) {
	var (
		d                      webhooks.Delivery
		company                sql.NullInt64
		status                 string
		next, created, updated int64
		dur                    int64
	)
	dest := append([]any{&d.ID, &d.EventID, &d.EventType, &company, &d.WebhookID, &status,
		&d.AttemptCount, &next, &d.ResponseStatus, &d.ErrorMessage, &dur, &created, &updated}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	d.CompanyID = intPtr(company)
	d.Status = webhooks.DeliveryStatus(status)
	d.NextAttemptAt = fromMicros(next)
	d.Duration = time.Duration(dur)
	d.CreatedAt = fromMicros(created)
	d.UpdatedAt = fromMicros(updated)
	return &d, nil
}

// Claim leases up to p.Limit due deliveries, oldest due first (by
// NextAttemptAt, then ID): PENDING or RETRYING, NextAttemptAt <= p.Now (the
// current time when zero), no lease or an expired one, of an active webhook
// not in p.ExcludeWebhooks, and, when p.MaxPerWebhook > 0, at most that many
// of any one webhook (the oldest due of each). Each gets token+1 and a lease
// until p.Now+p.Lease. p.Lease <= 0 fails with an error wrapping
// webhooks.ErrInvalid; otherwise p.Limit <= 0 claims nothing.
//
// Selection and update run in one write transaction, so no two callers, in
// any process, hold the same delivery; the webhooks and payloads are then
// loaded with one query each. The selection first walks a bounded window
// of the oldest due deliveries (claimWindowSize); only when that window is
// full and yields fewer than p.Limit claimable ones (the backlog of a
// disabled, excluded or capped webhook, or leased deliveries, sit in front)
// does it look up each webhook's oldest due deliveries through the
// per-webhook due index instead. Either way the write lock is never held
// for a walk over a whole backlog.
func (s *Store) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	if p.Lease <= 0 {
		return nil, fmt.Errorf("sqlitestore: claim: lease %v: %w", p.Lease, webhooks.ErrInvalid)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	nowUS, until := toMicros(now), leaseEnd(now, p.Lease)
	perWebhook := p.Limit // the most of one webhook a claim takes
	if p.MaxPerWebhook > 0 {
		perWebhook = min(p.MaxPerWebhook, p.Limit)
	}

	var out []*webhooks.ClaimedDelivery
	err := s.inWriteTx(ctx, func(q querier) error {
		out = nil
		if err := s.lockForWrite(ctx, q); err != nil {
			return err
		}
		ids, exact, err := claimFromWindow(ctx, q, nowUS, p.Limit, perWebhook, p.ExcludeWebhooks)
		if err != nil {
			return err
		}
		if !exact {
			if ids, err = claimPerWebhook(ctx, q, nowUS, p.Limit, perWebhook, p.ExcludeWebhooks); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		rows, err := q.QueryContext(ctx, claimUpdateSQL, until, idList(ids), nowUS)
		if err != nil {
			return err
		}
		eventPKs := map[int64][]*webhooks.ClaimedDelivery{}
		webhookIDs := map[int64][]*webhooks.ClaimedDelivery{}
		for rows.Next() {
			var (
				c                      webhooks.ClaimedDelivery
				d                      = &c.Delivery
				pk                     int64
				status                 string
				next, created, updated int64
				dur, lease             int64
			)
			if err := rows.Scan(&d.ID, &pk, &d.WebhookID, &status, &d.AttemptCount, &next,
				&d.ResponseStatus, &d.ErrorMessage, &dur, &created, &updated, &c.Token, &lease); err != nil {
				_ = rows.Close()
				return err
			}
			d.Status = webhooks.DeliveryStatus(status)
			d.NextAttemptAt = fromMicros(next)
			d.Duration = time.Duration(dur)
			d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
			c.LeaseUntil = fromMicros(lease)
			out = append(out, &c)
			eventPKs[pk] = append(eventPKs[pk], &c)
			webhookIDs[d.WebhookID] = append(webhookIDs[d.WebhookID], &c)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		if err := loadClaimWebhooks(ctx, q, webhookIDs); err != nil {
			return err
		}
		return loadClaimEvents(ctx, q, eventPKs)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim: %w", err)
	}
	sqlshared.SortClaimed(out)
	return out, nil
}

// lockForWrite makes sure the transaction holds the write lock before
// Claim's first read, as inWriteTx promises: Open's connection begins
// immediate transactions, but a host's *sql.DB (New) or transaction (WithTx)
// may begin deferred ones, which would otherwise take a read snapshot first
// and could fail with SQLITE_BUSY when upgrading it. An UPDATE takes the
// write lock even when it matches no row.
func (s *Store) lockForWrite(ctx context.Context, q querier) error {
	if s.owned && s.tx == nil {
		return nil // BEGIN IMMEDIATE (_txlock=immediate) already took it
	}
	_, err := q.ExecContext(ctx, `UPDATE webhooks_deliveries SET token = token WHERE 0`)
	return err
}

// The claim window: how many of the oldest due deliveries Claim examines,
// in due order, before it falls back to per-webhook lookups:
// max(claimWindowFactor*Limit, claimWindowMin). Variables for tests only
// (export_test.go).
var (
	claimWindowMin    = 256
	claimWindowFactor = 2
)

func claimWindowSize(limit int) int { return max(claimWindowFactor*limit, claimWindowMin) }

// claimWindowSQL lists due deliveries in due order with whether each is
// claimable (no unexpired lease, active webhook). INDEXED BY pins the
// partial due index as the outer loop, so rows come in due order without a
// sort and the caller stops reading after the window; the webhook is one
// primary-key lookup per row.
const claimWindowSQL = `SELECT d.id, d.webhook_id,
	(d.lease_until IS NULL OR d.lease_until <= ?1) AND w.is_active IS 1
FROM webhooks_deliveries AS d INDEXED BY webhooks_deliveries_due
LEFT JOIN webhooks_endpoints AS w ON w.id = d.webhook_id
WHERE d.status IN ('PENDING', 'RETRYING') AND d.next_attempt_at <= ?1
ORDER BY d.next_attempt_at, d.id`

// claimFromWindow picks, in due order, up to limit claimable deliveries (at
// most perWebhook of one webhook, none of exclude) from the first
// claimWindowSize(limit) due ones. exact reports that these are the
// answer: limit were found, or the window held every due delivery. When it
// is false, claimable deliveries may sit behind the window.
func claimFromWindow(ctx context.Context, q querier, nowUS int64, limit, perWebhook int, exclude []int64) (ids []int64, exact bool, err error) {
	excluded := make(map[int64]bool, len(exclude))
	for _, id := range exclude {
		excluded[id] = true
	}
	window := claimWindowSize(limit)
	rows, err := q.QueryContext(ctx, claimWindowSQL, nowUS)
	if err != nil {
		return nil, false, err
	}
	defer func() { _ = rows.Close() }()
	taken := map[int64]int{}
	seen := 0
	for seen < window && rows.Next() {
		seen++
		var id, webhookID int64
		var ok bool
		if err := rows.Scan(&id, &webhookID, &ok); err != nil {
			return nil, false, err
		}
		if !ok || excluded[webhookID] || taken[webhookID] >= perWebhook {
			continue
		}
		taken[webhookID]++
		ids = append(ids, id)
		if len(ids) == limit {
			return ids, true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return ids, seen < window, nil
}

// claimPerWebhookSQL selects the oldest claimable due deliveries, at most
// ?4 of each active webhook not in ?1, then at most ?5 of those in due
// order. open_hooks lists the webhooks with PENDING or RETRYING deliveries
// by skipping through the per-webhook due index, one seek per webhook
// (min(webhook_id) > the previous one), so webhooks with nothing open cost
// nothing. For each of those that is active and not excluded, the correlated
// subquery seeks the same index to its oldest due delivery and reads only as
// far as its cap (plus leased ones it skips), so the backlog of a disabled,
// excluded or capped webhook costs a seek, not a walk.
const claimPerWebhookSQL = `WITH RECURSIVE open_hooks(id) AS (
	SELECT (SELECT min(webhook_id) FROM webhooks_deliveries INDEXED BY webhooks_deliveries_webhook_due
		WHERE status IN ('PENDING', 'RETRYING'))
	UNION ALL
	SELECT (SELECT min(x.webhook_id) FROM webhooks_deliveries AS x INDEXED BY webhooks_deliveries_webhook_due
		WHERE x.status IN ('PENDING', 'RETRYING') AND x.webhook_id > o.id)
	FROM open_hooks AS o WHERE o.id IS NOT NULL)
SELECT d.id
FROM open_hooks AS o
CROSS JOIN webhooks_endpoints AS w ON w.id = o.id
CROSS JOIN webhooks_deliveries AS d
WHERE w.is_active = 1 AND w.id NOT IN (SELECT value FROM json_each(?1))
  AND d.id IN (
	SELECT x.id FROM webhooks_deliveries AS x INDEXED BY webhooks_deliveries_webhook_due
	WHERE x.webhook_id = w.id AND x.status IN ('PENDING', 'RETRYING') AND x.next_attempt_at <= ?2
	  AND (x.lease_until IS NULL OR x.lease_until <= ?3)
	ORDER BY x.next_attempt_at, x.id
	LIMIT ?4)
ORDER BY d.next_attempt_at, d.id
LIMIT ?5`

// claimPerWebhook is the exact selection claimFromWindow falls back to: up
// to limit claimable deliveries, at most perWebhook of one webhook, oldest
// due first. It costs a few index seeks per webhook with open deliveries,
// plus one primary-key lookup per candidate (at most perWebhook of each).
func claimPerWebhook(ctx context.Context, q querier, nowUS int64, limit, perWebhook int, exclude []int64) ([]int64, error) {
	return queryIDs(ctx, q, claimPerWebhookSQL, idList(exclude), nowUS, nowUS, perWebhook, limit)
}

// claimUpdateSQL leases the selected deliveries, by primary key. The
// selection ran in the same write transaction, so they are all still
// claimable; the lease condition, which fences claims, is repeated anyway.
const claimUpdateSQL = `UPDATE webhooks_deliveries SET token = token + 1, lease_until = ?1
WHERE id IN (SELECT value FROM json_each(?2)) AND (lease_until IS NULL OR lease_until <= ?3)
RETURNING id, event_pk, webhook_id, status, attempt_count, next_attempt_at, response_status,
	error_message, duration_ns, created_at, updated_at, token, lease_until`

func keys(m map[int64][]*webhooks.ClaimedDelivery) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func loadClaimWebhooks(ctx context.Context, q querier, byID map[int64][]*webhooks.ClaimedDelivery) error {
	rows, err := q.QueryContext(ctx, `SELECT `+webhookCols+` FROM webhooks_endpoints
	WHERE id IN (SELECT value FROM json_each(?))`, idList(keys(byID)))
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return err
		}
		for i, c := range byID[w.ID] {
			if i == 0 {
				c.Webhook = w
			} else {
				c.Webhook = cloneWebhook(w) // each claim owns its values
			}
		}
	}
	return rows.Err()
}

func cloneWebhook(w *webhooks.Webhook) *webhooks.Webhook {
	cp := *w
	if w.CompanyID != nil {
		id := *w.CompanyID
		cp.CompanyID = &id
	}
	cp.Events = slices.Clone(w.Events)
	cp.CustomHeaders = maps.Clone(w.CustomHeaders)
	return &cp
}

func loadClaimEvents(ctx context.Context, q querier, byPK map[int64][]*webhooks.ClaimedDelivery) error {
	rows, err := q.QueryContext(ctx, `SELECT id, event_id, event_type, company_id, payload
	FROM webhooks_events WHERE id IN (SELECT value FROM json_each(?))`, idList(keys(byPK)))
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			pk                 int64
			eventID, eventType string
			company            sql.NullInt64
			payload            []byte
		)
		if err := rows.Scan(&pk, &eventID, &eventType, &company, &payload); err != nil {
			return err
		}
		for i, c := range byPK[pk] {
			c.Delivery.EventID, c.Delivery.EventType = eventID, eventType
			c.Delivery.CompanyID = intPtr(company)
			c.Payload = payload
			if i > 0 {
				c.Payload = bytes.Clone(payload) // each claim owns its values
			}
		}
	}
	return rows.Err()
}

// Complete records attempts and new states in one transaction. A completion
// is accepted only while its token is the delivery's current one and the
// claim has not been completed already; otherwise (also when the delivery
// is gone) its ID is listed in Stale and nothing changes for it. An
// accepted completion adds attempt number attempt_count+1, sets the status,
// the attempt count, NextAttemptAt (when RETRYING), the latest response
// status, error and duration, clears the lease and sets UpdatedAt to Now
// (the current time when zero). A SUCCESS resets the webhook's
// ConsecutiveFailures; RETRYING and FAILED increment it and disable the
// webhook with webhooks.AutoDisableReason when it reaches
// AutoDisableAfterFailures (> 0). DisableWebhook disables it with that
// reason. Webhooks this disables (only those that were active) are listed in
// Disabled. A status other than SUCCESS, RETRYING or FAILED fails the whole
// call with an error wrapping webhooks.ErrInvalid.
func (s *Store) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	if err := sqlshared.CheckCompletionStatuses(cs); err != nil {
		return webhooks.CompleteResult{}, fmt.Errorf("sqlitestore: %w", err)
	}
	if len(cs) == 0 {
		return webhooks.CompleteResult{}, nil
	}
	now := time.Now()
	var res webhooks.CompleteResult
	err := s.inWriteTx(ctx, func(q querier) error {
		res = webhooks.CompleteResult{}
		stmts := make([]*sql.Stmt, 0, 5)
		defer func() {
			for _, st := range stmts {
				_ = st.Close()
			}
		}()
		prep := func(query string) (*sql.Stmt, error) {
			st, err := s.prepare(ctx, q, query)
			if err == nil {
				stmts = append(stmts, st)
			}
			return st, err
		}
		update, err := prep(completeDeliverySQL)
		if err != nil {
			return err
		}
		insAttempt, err := prep(insertAttemptSQL)
		if err != nil {
			return err
		}
		healthy, err := prep(resetFailuresSQL)
		if err != nil {
			return err
		}
		failed, err := prep(countFailureSQL)
		if err != nil {
			return err
		}
		disable, err := prep(autoDisableSQL)
		if err != nil {
			return err
		}

		reset := map[int64]bool{} // webhooks whose failure counter this batch already reset
		for i := range cs {
			c := &cs[i]
			at := c.Now
			if at.IsZero() {
				at = now
			}
			var next any
			if c.Status == webhooks.StatusRetrying {
				next = toMicros(c.NextAttemptAt)
			}
			a := &c.Attempt
			var webhookID int64
			var number int
			switch err := update.QueryRowContext(ctx, string(c.Status), next, a.ResponseStatus, a.Error,
				int64(a.Duration), toMicros(at), c.DeliveryID, c.Token).Scan(&webhookID, &number); {
			case errors.Is(err, sql.ErrNoRows):
				res.Stale = append(res.Stale, c.DeliveryID)
				continue
			case err != nil:
				return fmt.Errorf("delivery %d: %w", c.DeliveryID, err)
			}
			reqH, respH, err := sqlshared.EncodeAttemptHeaders(a)
			if err != nil {
				return fmt.Errorf("delivery %d: %w", c.DeliveryID, err)
			}
			if _, err := insAttempt.ExecContext(ctx, c.DeliveryID, number, toMicros(a.StartedAt), string(reqH),
				a.ResponseStatus, string(respH), []byte(a.ResponseBody), int64(a.Duration), a.Error); err != nil {
				return fmt.Errorf("delivery %d: attempt: %w", c.DeliveryID, err)
			}

			reason := c.DisableWebhook
			if c.Status == webhooks.StatusSuccess {
				if !reset[webhookID] { // a second reset in one batch would change nothing
					if _, err := healthy.ExecContext(ctx, webhookID); err != nil {
						return fmt.Errorf("webhook %d: %w", webhookID, err)
					}
					reset[webhookID] = true
				}
			} else {
				delete(reset, webhookID)
				var failures, threshold int
				switch err := failed.QueryRowContext(ctx, webhookID).Scan(&failures, &threshold); {
				case errors.Is(err, sql.ErrNoRows): // webhook gone: its deliveries went with it
				case err != nil:
					return fmt.Errorf("webhook %d: %w", webhookID, err)
				case reason == "" && threshold > 0 && failures >= threshold:
					reason = webhooks.AutoDisableReason(failures)
				}
			}
			if reason == "" {
				continue
			}
			r, err := disable.ExecContext(ctx, reason, toMicros(at), webhookID)
			if err != nil {
				return fmt.Errorf("webhook %d: disable: %w", webhookID, err)
			}
			if n, err := r.RowsAffected(); err != nil {
				return fmt.Errorf("webhook %d: disable: %w", webhookID, err)
			} else if n > 0 {
				res.Disabled = append(res.Disabled, webhooks.DisabledWebhook{ID: webhookID, Reason: reason})
			}
		}
		return nil
	})
	if err != nil {
		return webhooks.CompleteResult{}, fmt.Errorf("sqlitestore: complete: %w", err)
	}
	return res, nil
}

// Release clears the lease of each current, uncompleted claim in one
// transaction; stale refs are ignored.
func (s *Store) Release(ctx context.Context, claims []webhooks.ClaimRef) error {
	if len(claims) == 0 {
		return nil
	}
	err := s.inWriteTx(ctx, func(q querier) error {
		st, err := s.prepare(ctx, q, releaseSQL)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range claims {
			if _, err := st.ExecContext(ctx, c.DeliveryID, c.Token); err != nil {
				return fmt.Errorf("delivery %d: %w", c.DeliveryID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitestore: release: %w", err)
	}
	return nil
}

// GetDelivery returns a delivery with its attempts, oldest first, read from
// one snapshot, or an error wrapping webhooks.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*webhooks.Delivery, error) {
	var d *webhooks.Delivery
	err := s.inReadTx(ctx, func(q querier) error {
		var err error
		d, err = scanDelivery(q.QueryRowContext(ctx, `SELECT `+deliveryCols+`
	FROM webhooks_deliveries AS d JOIN webhooks_events AS e ON e.id = d.event_pk WHERE d.id = ?`, id))
		if err != nil {
			return err
		}
		rows, err := q.QueryContext(ctx, `SELECT number, started_at, request_headers, response_status,
	response_headers, response_body, duration_ns, error
	FROM webhooks_attempts WHERE delivery_id = ? ORDER BY number`, id)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var (
				a            webhooks.Attempt
				started, dur int64
				reqH, respH  []byte
				body         []byte
			)
			if err := rows.Scan(&a.Number, &started, &reqH, &a.ResponseStatus, &respH, &body, &dur, &a.Error); err != nil {
				return err
			}
			if err := sqlshared.DecodeAttemptHeaders(&a, reqH, respH); err != nil {
				return err
			}
			a.StartedAt = fromMicros(started)
			a.ResponseBody = string(body)
			a.Duration = time.Duration(dur)
			d.Attempts = append(d.Attempts, a)
		}
		return rows.Err()
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, notFound("delivery", id)
	case err != nil:
		return nil, fmt.Errorf("sqlitestore: get delivery %d: %w", id, err)
	}
	return d, nil
}

// ListDeliveries returns deliveries newest first (by ID), without attempts:
// those of p.WebhookID (0: all) with status p.Status ("": any) and ID below
// p.Before (0: from the newest), at most p.Limit (default 20, at most 1000).
func (s *Store) ListDeliveries(ctx context.Context, p webhooks.ListDeliveriesParams) ([]*webhooks.Delivery, error) {
	limit := sqlshared.ListLimit(p.Limit, DefaultListLimit, MaxListLimit)
	query, args := listDeliveriesQuery(p, limit)
	rows, err := s.rq().QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list deliveries: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*webhooks.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list deliveries: %w", err)
	}
	return out, nil
}

// listDeliveriesQuery builds ListDeliveries' query. Each filter has an
// index that also gives the order: (webhook_id, status, id) for webhook and
// status, (webhook_id, id) for the webhook alone, (status, id) for the
// status alone, so a page reads its rows, not every row of the filter.
func listDeliveriesQuery(p webhooks.ListDeliveriesParams, limit int) (string, []any) {
	var (
		where []string
		args  []any
	)
	if p.WebhookID != 0 {
		where = append(where, `d.webhook_id = ?`)
		args = append(args, p.WebhookID)
	}
	if p.Status != "" {
		where = append(where, `d.status = ?`)
		args = append(args, string(p.Status))
	}
	if p.Before > 0 {
		where = append(where, `d.id < ?`)
		args = append(args, p.Before)
	}
	query := `SELECT ` + deliveryCols + ` FROM webhooks_deliveries AS d
	JOIN webhooks_events AS e ON e.id = d.event_pk`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY d.id DESC LIMIT ?`
	return query, append(args, limit)
}

// RetryDelivery makes a FAILED or RETRYING delivery RETRYING and due at now
// (UpdatedAt too). Its attempt count and any current lease are kept. Other
// statuses fail with an error wrapping webhooks.ErrNotRetryable, a missing
// delivery with one wrapping webhooks.ErrNotFound.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) error {
	err := s.inWriteTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE webhooks_deliveries SET status = 'RETRYING',
	next_attempt_at = ?, updated_at = ? WHERE id = ? AND status IN ('FAILED', 'RETRYING')`,
			toMicros(now), toMicros(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var status string
		switch err := q.QueryRowContext(ctx, `SELECT status FROM webhooks_deliveries WHERE id = ?`, id).Scan(&status); {
		case errors.Is(err, sql.ErrNoRows):
			return notFound("delivery", id)
		case err != nil:
			return err
		}
		return fmt.Errorf("sqlitestore: retry delivery %d: status %s: %w", id, status, webhooks.ErrNotRetryable)
	})
	switch {
	case errors.Is(err, webhooks.ErrNotFound), errors.Is(err, webhooks.ErrNotRetryable):
		return err
	case err != nil:
		return fmt.Errorf("sqlitestore: retry delivery %d: %w", id, err)
	}
	return nil
}

// Purge deletes the deliveries created before the cutoff with their
// attempts, then the events created before it that no delivery references
// any more, and returns how many deliveries it deleted. It works in
// transactions of PurgeBatch deliveries (inside the host transaction for a
// WithTx view), so other writers interleave with a long purge; on error it
// returns the deliveries deleted so far.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	cutoff := toMicros(before)
	var total int64
	for {
		var n int64
		err := s.inWriteTx(ctx, func(q querier) error {
			// The deliveries go first (a write, see inWriteTx); their attempts
			// follow, by cascade when foreign keys are on, explicitly anyway.
			ids, err := queryIDs(ctx, q, `DELETE FROM webhooks_deliveries WHERE id IN (
	SELECT id FROM webhooks_deliveries WHERE created_at < ? LIMIT ?) RETURNING id`, cutoff, PurgeBatch)
			if err != nil || len(ids) == 0 {
				n = 0
				return err
			}
			n = int64(len(ids))
			_, err = q.ExecContext(ctx, `DELETE FROM webhooks_attempts
	WHERE delivery_id IN (SELECT value FROM json_each(?))`, idList(ids))
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlitestore: purge: %w", err)
		}
		total += n
		if n < PurgeBatch {
			break
		}
	}
	for {
		var n int64
		err := s.inWriteTx(ctx, func(q querier) error {
			res, err := q.ExecContext(ctx, `DELETE FROM webhooks_events WHERE id IN (
	SELECT e.id FROM webhooks_events AS e WHERE e.created_at < ?
	  AND NOT EXISTS (SELECT 1 FROM webhooks_deliveries AS d WHERE d.event_pk = e.id)
	LIMIT ?)`, cutoff, PurgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlitestore: purge events: %w", err)
		}
		if n < PurgeBatch {
			break
		}
	}
	return total, nil
}

func queryIDs(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
