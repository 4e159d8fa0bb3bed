package pgstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/sqlshared"
)

// Limits of ListDeliveries, Claim and Purge.
const (
	// DefaultListLimit is the page size of ListDeliveries when
	// ListDeliveriesParams.Limit <= 0: 20.
	DefaultListLimit = 20
	// MaxListLimit caps ListDeliveriesParams.Limit: 1000.
	MaxListLimit = 1000
	// PurgeBatch is how many rows Purge deletes per statement, so a large
	// purge never holds many row locks for long: 1000.
	PurgeBatch = 1000
)

// The claim window: how many of the oldest due, unleased deliveries Claim
// examines before it falls back to per-webhook lookups:
// max(claimWindowFactor*Limit, claimWindowMin). Variables for tests only
// (export_test.go).
var (
	claimWindowMin    = 256
	claimWindowFactor = 2
)

// claimFewHooks: when at most this many webhooks have open deliveries,
// Claim looks each one up directly (a few index seeks each) rather than
// reading the window first. Variable for tests only (export_test.go).
var claimFewHooks = 32

// claimAttempts bounds the claim statements one Claim runs when
// concurrent claimers took some of its candidates.
const claimAttempts = 3

// Enqueue stores each event once (its payload included) and one PENDING
// delivery, due at CreatedAt (the current time when zero), per listed
// webhook that still exists (a webhook listed twice gets one). An event
// whose ID is already stored, or repeated in the call, is reported Duplicate
// and adds nothing. With Lease > 0 the deliveries are created claimed until
// CreatedAt+Lease with token 1. The whole call is one statement (events and
// deliveries inserted from arrays with unnest), so it is atomic and costs
// one round trip however many events it carries. When it creates a
// delivery that is due (not leased) it notifies the schema's channel, in
// the same transaction. Results follow the order of events. An empty
// EventID fails with an error wrapping webhooks.ErrInvalid.
func (s *Store) Enqueue(ctx context.Context, events []webhooks.EnqueueEvent) ([]webhooks.EnqueueResult, error) {
	for i := range events {
		if events[i].EventID == "" {
			return nil, fmt.Errorf("pgstore: enqueue: event %d has no ID: %w", i, webhooks.ErrInvalid)
		}
	}
	results := make([]webhooks.EnqueueResult, len(events))
	if len(events) == 0 {
		return results, nil
	}
	now := time.Now()
	var (
		// One element per event stored (first occurrence of each ID).
		eventIDs, types []string
		companies       []*int64
		payloads        [][]byte
		created         []time.Time
		// One element per delivery.
		dEvent  []string
		dHook   []int64
		dAt     []time.Time
		dLease  []*time.Time
		dToken  []int64
		hookIDs []int64 // distinct webhooks
		hookSet = map[int64]bool{}
		// hooks[i] is event i's distinct webhooks, in order of first mention.
		hooks = make([][]int64, len(events))
		first = make(map[string]bool, len(events))
	)
	for i := range events {
		ev := &events[i]
		if first[ev.EventID] {
			results[i].Duplicate = true
			continue
		}
		first[ev.EventID] = true
		at := ev.CreatedAt
		if at.IsZero() {
			at = now
		}
		at = micro(at)
		payload := ev.Payload
		if payload == nil {
			payload = []byte{}
		}
		eventIDs = append(eventIDs, ev.EventID)
		types = append(types, ev.EventType)
		companies = append(companies, ev.CompanyID)
		payloads = append(payloads, payload)
		created = append(created, at)
		var until *time.Time
		if ev.Lease > 0 {
			t := leaseEnd(at, ev.Lease)
			until = &t
		}
		seen := make(map[int64]bool, len(ev.WebhookIDs))
		for _, wid := range ev.WebhookIDs {
			if seen[wid] {
				continue // listed twice: one delivery
			}
			seen[wid] = true
			hooks[i] = append(hooks[i], wid)
			dEvent = append(dEvent, ev.EventID)
			dHook = append(dHook, wid)
			dAt = append(dAt, at)
			if ev.Leased(wid) {
				dLease, dToken = append(dLease, until), append(dToken, 1)
			} else {
				dLease, dToken = append(dLease, nil), append(dToken, 0)
			}
			if !hookSet[wid] {
				hookSet[wid] = true
				hookIDs = append(hookIDs, wid)
			}
		}
	}
	if hookIDs == nil {
		hookIDs = []int64{}
	}
	rows, err := s.db().Query(ctx, s.sql(enqueueSQL), eventIDs, types, companies, payloads, created,
		dEvent, dHook, dAt, dLease, dToken, hookIDs, s.channel)
	if err != nil {
		return nil, fmt.Errorf("pgstore: enqueue: %w", err)
	}
	stored := map[string]int64{}       // event ID → event pk
	deliveries := map[[2]int64]int64{} // (event pk, webhook) → delivery ID
	tokens := map[[2]int64]int64{}     // (event pk, webhook) → token
	for rows.Next() {
		var (
			kind             int
			eventID          *string
			pk, id, hook, tk int64
		)
		if err := rows.Scan(&kind, &eventID, &pk, &id, &hook, &tk); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgstore: enqueue: %w", err)
		}
		switch kind {
		case 1:
			stored[*eventID] = pk
		case 2:
			deliveries[[2]int64{pk, hook}] = id
			tokens[[2]int64{pk, hook}] = tk
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: enqueue: %w", err)
	}
	for i := range events {
		if results[i].Duplicate {
			continue
		}
		pk, ok := stored[events[i].EventID]
		if !ok {
			results[i].Duplicate = true
			continue
		}
		for _, wid := range hooks[i] {
			if id, ok := deliveries[[2]int64{pk, wid}]; ok { // else: webhook gone
				results[i].Deliveries = append(results[i].Deliveries,
					webhooks.EnqueuedDelivery{ID: id, WebhookID: wid, Token: tokens[[2]int64{pk, wid}]})
			}
		}
	}
	return results, nil
}

// enqueueSQL inserts events and deliveries from arrays in one statement.
// The webhooks are locked FOR KEY SHARE first, so one deleted meanwhile is
// skipped (its row is gone when the lock is granted) instead of failing the
// foreign key check. The notification is sent only when a due delivery was
// created; NOTIFY is transactional, so other processes hear it at commit.
const enqueueSQL = `WITH ins AS (
	INSERT INTO {s}.webhooks_events (event_id, event_type, company_id, payload, created_at)
	SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::timestamptz[])
	ON CONFLICT (event_id) DO NOTHING
	RETURNING id, event_id
), hooks AS (
	SELECT w.id FROM {s}.webhooks_endpoints AS w WHERE w.id = ANY ($11::bigint[]) FOR KEY SHARE
), dl AS (
	INSERT INTO {s}.webhooks_deliveries
		(event_pk, webhook_id, status, next_attempt_at, lease_until, token, created_at, updated_at)
	SELECT ins.id, u.wid, 'PENDING', u.at, u.lease, u.token, u.at, u.at
	FROM unnest($6::text[], $7::bigint[], $8::timestamptz[], $9::timestamptz[], $10::bigint[])
		WITH ORDINALITY AS u(eid, wid, at, lease, token, ord)
	JOIN ins ON ins.event_id = u.eid
	JOIN hooks ON hooks.id = u.wid
	ORDER BY u.ord
	RETURNING id, event_pk, webhook_id, token, lease_until IS NULL AS due
), wake AS (
	SELECT pg_notify($12, '') WHERE EXISTS (SELECT 1 FROM dl WHERE dl.due)
)
SELECT 1, ins.event_id, ins.id, 0::bigint, 0::bigint, 0::bigint FROM ins
UNION ALL
SELECT 2, NULL, dl.event_pk, dl.id, dl.webhook_id, dl.token FROM dl
UNION ALL
SELECT 3, NULL, 0, 0, 0, 0 FROM wake`

// deliveryCols select a delivery (as d) joined with its event (as e).
const deliveryCols = `d.id, e.event_id, e.event_type, d.webhook_id, e.company_id, d.status,
	d.attempt_count, d.next_attempt_at, d.response_status, d.error_message, d.duration_ns,
	d.created_at, d.updated_at`

// deliveryDest returns scan destinations for deliveryCols into d, and a
// function that finishes decoding once the row is scanned.
func deliveryDest(d *webhooks.Delivery) ([]any, func()) {
	var (
		status string
		dur    int64
	)
	return []any{&d.ID, &d.EventID, &d.EventType, &d.WebhookID, &d.CompanyID, &status,
			&d.AttemptCount, &d.NextAttemptAt, &d.ResponseStatus, &d.ErrorMessage, &dur,
			&d.CreatedAt, &d.UpdatedAt}, func() {
			d.Status = webhooks.DeliveryStatus(status)
			d.Duration = time.Duration(dur)
			d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = utc(d.NextAttemptAt), utc(d.CreatedAt), utc(d.UpdatedAt)
		}
}

// Claim leases up to p.Limit due deliveries, oldest due first (by
// NextAttemptAt, then ID): PENDING or RETRYING, NextAttemptAt <= p.Now (the
// current time when zero), no lease or an expired one, of an active webhook
// not in p.ExcludeWebhooks, and, when p.MaxPerWebhook > 0, at most that many
// of any one webhook (the oldest due of each). Each gets token+1 and a lease
// until p.Now+p.Lease. p.Lease <= 0 fails with an error wrapping
// webhooks.ErrInvalid; otherwise p.Limit <= 0 claims nothing.
//
// One statement selects, locks (FOR UPDATE SKIP LOCKED), leases and returns
// the deliveries with their webhooks and payloads; it reads a few index
// entries per claimed delivery whatever the backlog. When few webhooks
// (claimFewHooks, 32) have open deliveries, it takes each active webhook's
// oldest due ones through the per-webhook index. Otherwise it first looks
// at a bounded window of the oldest due, unleased deliveries (the due
// index), and falls back to the per-webhook lookups only when that window
// is full yet yields fewer than p.Limit claimable ones (the backlog of a
// disabled, excluded or capped webhook sits in front). Rows a concurrent
// claimer holds are skipped, never waited for; when that leaves the claim
// short, Claim runs the statement again (at most three times in all) for
// webhooks it has no deliveries of yet, so the per-webhook cap still holds.
func (s *Store) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	if p.Lease <= 0 {
		return nil, fmt.Errorf("pgstore: claim: lease %v: %w", p.Lease, webhooks.ErrInvalid)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	now := p.Now
	if now.IsZero() {
		now = time.Now()
	}
	now = micro(now)
	until := leaseEnd(now, p.Lease)
	perWebhook := p.Limit
	if p.MaxPerWebhook > 0 {
		perWebhook = min(p.MaxPerWebhook, p.Limit)
	}
	exclude := append([]int64{}, p.ExcludeWebhooks...)
	var out []*webhooks.ClaimedDelivery
	for range claimAttempts {
		limit := p.Limit - len(out)
		got, candidates, err := s.claimOnce(ctx, now, until, limit, perWebhook, exclude)
		if err != nil {
			if len(out) > 0 {
				break // keep what is leased already; the error will recur
			}
			return nil, fmt.Errorf("pgstore: claim: %w", err)
		}
		out = append(out, got...)
		if len(got) == limit || candidates <= len(got) {
			break // full, or nothing was taken by others
		}
		for _, c := range got {
			exclude = append(exclude, c.Delivery.WebhookID)
		}
	}
	sqlshared.SortClaimed(out)
	return out, nil
}

// claimOnce runs the claim statement. It returns the claims and how many
// candidates the statement selected before locking: more candidates than
// claims means concurrent claimers took some.
func (s *Store) claimOnce(ctx context.Context, now, until time.Time, limit, perWebhook int, exclude []int64) ([]*webhooks.ClaimedDelivery, int, error) {
	window := max(claimWindowFactor*limit, claimWindowMin)
	rows, err := s.db().Query(ctx, s.sql(claimSQL), now, until, perWebhook, exclude, limit, window, claimFewHooks)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var (
		out        []*webhooks.ClaimedDelivery
		candidates int
	)
	for rows.Next() {
		if rows.RawValues()[1] == nil { // nothing claimed: the count alone
			dest := make([]any, len(rows.FieldDescriptions()))
			dest[0] = &candidates
			if err := rows.Scan(dest...); err != nil {
				return nil, 0, err
			}
			continue
		}
		c := &webhooks.ClaimedDelivery{Webhook: new(webhooks.Webhook)}
		var (
			d      = &c.Delivery
			status string
			dur    int64
		)
		hookDest, finish := webhookDest(c.Webhook)
		dest := append([]any{&candidates, &d.ID, &d.EventID, &d.EventType, &d.WebhookID, &d.CompanyID,
			&status, &d.AttemptCount, &d.NextAttemptAt, &d.ResponseStatus, &d.ErrorMessage, &dur,
			&d.CreatedAt, &d.UpdatedAt, &c.Token, &c.LeaseUntil, &c.Payload}, hookDest...)
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, err
		}
		if err := finish(); err != nil {
			return nil, 0, err
		}
		d.Status = webhooks.DeliveryStatus(status)
		d.Duration = time.Duration(dur)
		d.NextAttemptAt, d.CreatedAt, d.UpdatedAt = utc(d.NextAttemptAt), utc(d.CreatedAt), utc(d.UpdatedAt)
		c.LeaseUntil = utc(c.LeaseUntil)
		out = append(out, c)
	}
	return out, candidates, rows.Err()
}

// claimSQL: $1 now, $2 lease end, $3 cap per webhook, $4 excluded webhooks,
// $5 limit, $6 window size, $7 "few webhooks" bound.
//
//   - open_hooks: the webhooks with open deliveries, found by skipping
//     through the per-webhook index, one seek per webhook (evaluated
//     lazily: few reads at most $7+1 of them).
//   - few: at most $7 webhooks have open deliveries. Then hook_pick alone
//     decides, and the window is never read.
//   - win: otherwise, the oldest $6 due, unleased deliveries in due order
//     (the due index; leased rows are passed over, and there are only as
//     many as dispatchers hold), each marked ok when its webhook is active
//     and not excluded.
//   - win_pick: of those, up to $3 per webhook, then $5 in due order. A
//     row's place within its webhook is its row number minus the rank of
//     its webhook (the row number of the webhook's first row), both over
//     one sort: a window partitioned by webhook would pay a set-up per
//     webhook, and a window may hold hundreds of webhooks.
//   - exact: win_pick is the answer when it is full or win held every due,
//     unleased delivery. Otherwise claimable deliveries may sit behind the
//     window (the backlog of a disabled, excluded or capped webhook fills
//     it), and hook_pick runs instead.
//   - hook_pick: each active, not excluded webhook's $3 oldest due, unleased
//     deliveries (the per-webhook index: a seek and a short read each), then
//     $5 in due order.
//   - locked: the candidates, rechecked and locked; rows another claimer
//     holds are skipped, and rows it leased since this statement began fail
//     the recheck.
//   - claimed: lease them with a new token.
//
// The gates are one-time filters on InitPlans, evaluated left to right, so
// the path not taken costs nothing. The per-webhook parts spell the open
// predicate as NOT IN ('SUCCESS', 'FAILED') and the window as IN
// ('PENDING', 'RETRYING'), to pin each to its index (see the migration).
// The result has one row per claim with the candidate count first, or a
// single row with only the count when nothing was claimed.
const claimSQL = `WITH RECURSIVE open_hooks(id) AS (
	(SELECT d.webhook_id FROM {s}.webhooks_deliveries AS d
	 WHERE d.status NOT IN ('SUCCESS', 'FAILED')
	 ORDER BY d.webhook_id, d.next_attempt_at, d.id LIMIT 1)
	UNION ALL
	SELECT (SELECT d.webhook_id FROM {s}.webhooks_deliveries AS d
	        WHERE d.status NOT IN ('SUCCESS', 'FAILED') AND d.webhook_id > o.id
	        ORDER BY d.webhook_id, d.next_attempt_at, d.id LIMIT 1)
	FROM open_hooks AS o WHERE o.id IS NOT NULL
), few AS (
	SELECT count(*) <= $7 AS yes FROM (SELECT 1 FROM open_hooks WHERE id IS NOT NULL LIMIT $7 + 1) AS x
), win AS (
	SELECT d.id, d.webhook_id, d.next_attempt_at, w.is_active AND d.webhook_id <> ALL ($4::bigint[]) AS ok
	FROM {s}.webhooks_deliveries AS d
	JOIN {s}.webhooks_endpoints AS w ON w.id = d.webhook_id
	WHERE d.status IN ('PENDING', 'RETRYING') AND d.next_attempt_at <= $1
	  AND (d.lease_until IS NULL OR d.lease_until <= $1)
	ORDER BY d.next_attempt_at, d.id
	LIMIT $6
), win_pick AS (
	SELECT x.id, x.next_attempt_at FROM (
		SELECT win.id, win.next_attempt_at,
			row_number() OVER (ORDER BY win.webhook_id, win.next_attempt_at, win.id)
			- rank() OVER (ORDER BY win.webhook_id) AS rn
		FROM win WHERE win.ok) AS x
	WHERE x.rn < $3
	ORDER BY x.next_attempt_at, x.id
	LIMIT $5
), exact AS (
	SELECT (SELECT count(*) FROM win_pick) >= $5 OR (SELECT count(*) FROM win) < $6 AS yes
), hook_pick AS (
	SELECT c.id, c.next_attempt_at
	FROM open_hooks AS o
	JOIN {s}.webhooks_endpoints AS w ON w.id = o.id
	CROSS JOIN LATERAL (
		SELECT d.id, d.next_attempt_at FROM {s}.webhooks_deliveries AS d
		WHERE d.webhook_id = w.id AND d.status NOT IN ('SUCCESS', 'FAILED')
		  AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
		ORDER BY d.next_attempt_at, d.id
		LIMIT $3) AS c
	WHERE w.is_active AND w.id <> ALL ($4::bigint[])
	ORDER BY c.next_attempt_at, c.id
	LIMIT $5
), cand AS (
	SELECT win_pick.id FROM win_pick WHERE NOT (SELECT yes FROM few) AND (SELECT yes FROM exact)
	UNION ALL
	SELECT hook_pick.id FROM hook_pick WHERE (SELECT yes FROM few) OR NOT (SELECT yes FROM exact)
), locked AS (
	-- The recheck goes by primary key. "+ interval '0'" keeps the planner
	-- from ANDing in a bitmap scan of the due index, which matches the
	-- whole backlog (15 ms at 200,000 due deliveries).
	SELECT d.id FROM {s}.webhooks_deliveries AS d
	WHERE d.id = ANY (ARRAY(SELECT cand.id FROM cand)) AND d.status IN ('PENDING', 'RETRYING')
	  AND d.next_attempt_at + interval '0' <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
	FOR UPDATE SKIP LOCKED
), claimed AS (
	UPDATE {s}.webhooks_deliveries AS d SET token = d.token + 1, lease_until = $2
	WHERE d.id = ANY (ARRAY(SELECT locked.id FROM locked))
	RETURNING d.id, d.event_pk, d.webhook_id, d.status, d.attempt_count, d.next_attempt_at,
		d.response_status, d.error_message, d.duration_ns, d.created_at, d.updated_at, d.token, d.lease_until
)
SELECT n.n, c.* FROM (SELECT count(*) AS n FROM cand) AS n
LEFT JOIN (
	SELECT d.id AS d_id, e.event_id, e.event_type, d.webhook_id, e.company_id AS e_company_id, d.status,
		d.attempt_count, d.next_attempt_at, d.response_status, d.error_message, d.duration_ns, d.created_at,
		d.updated_at, d.token, d.lease_until, e.payload, ` + webhookCols + `
	FROM claimed AS d
	JOIN {s}.webhooks_events AS e ON e.id = d.event_pk
	JOIN {s}.webhooks_endpoints AS w ON w.id = d.webhook_id
) AS c ON true`

// Complete records attempts and new states. A completion is accepted only
// while its token is the delivery's current one and the claim has not been
// completed already; otherwise (also when the delivery is gone, or the same
// claim is completed twice in the call) its ID is listed in Stale and
// nothing changes for it. An accepted completion adds attempt number
// attempt_count+1, sets the status, the attempt count, NextAttemptAt (when
// RETRYING), the latest response status, error and duration, clears the
// lease and sets UpdatedAt to Now (the current time when zero). A SUCCESS
// resets the webhook's ConsecutiveFailures; RETRYING and FAILED increment it
// and disable the webhook with webhooks.AutoDisableReason when it reaches
// AutoDisableAfterFailures (> 0); DisableWebhook disables it with that
// reason. Completions apply in the order given. Webhooks this disables (only
// those that were active) are listed in Disabled. A status other than
// SUCCESS, RETRYING or FAILED fails the whole call with an error wrapping
// webhooks.ErrInvalid.
//
// The deliveries, the attempts and the reset of healthy webhooks' counters
// are one statement built from arrays; when a completion failed or disables
// its webhook, the webhooks concerned are locked in that statement (in ID
// order, after the deliveries) and a second statement in the same
// transaction writes their new counters and states. DeleteWebhook locks in
// the other order (the webhook, then its deliveries); should the two meet
// on the same rows, PostgreSQL fails one of them as a deadlock, and the
// dispatcher retries the completion.
func (s *Store) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	if err := sqlshared.CheckCompletionStatuses(cs); err != nil {
		return webhooks.CompleteResult{}, fmt.Errorf("pgstore: %w", err)
	}
	if len(cs) == 0 {
		return webhooks.CompleteResult{}, nil
	}
	now := time.Now()
	n := len(cs)
	var (
		ids, tokens, durs    = make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		statuses, errs       = make([]string, 0, n), make([]string, 0, n)
		nexts                = make([]*time.Time, 0, n)
		respStatus           = make([]int32, 0, n)
		ats, started         = make([]time.Time, 0, n), make([]time.Time, 0, n)
		reqHeaders, respHdrs = make([]string, 0, n), make([]string, 0, n)
		bodies               = make([][]byte, 0, n)
		trouble              = make([]bool, 0, n)
		sent                 = make([]int, 0, n) // index in cs of each array element
		atOf                 = make([]time.Time, n)
		anyTrouble           bool
		claims               = make(map[[2]int64]bool, n)
	)
	for i := range cs {
		c := &cs[i]
		key := [2]int64{c.DeliveryID, c.Token}
		if claims[key] {
			continue // a claim completes once: stale (not accepted below)
		}
		claims[key] = true
		a := &c.Attempt
		reqH, respH, err := sqlshared.EncodeAttemptHeaders(a)
		if err != nil {
			return webhooks.CompleteResult{}, fmt.Errorf("pgstore: complete delivery %d: %w", c.DeliveryID, err)
		}
		at := c.Now
		if at.IsZero() {
			at = now
		}
		var next *time.Time
		if c.Status == webhooks.StatusRetrying {
			t := micro(c.NextAttemptAt)
			next = &t
		}
		bad := c.Status != webhooks.StatusSuccess || c.DisableWebhook != ""
		anyTrouble = anyTrouble || bad
		ids = append(ids, c.DeliveryID)
		tokens = append(tokens, c.Token)
		statuses = append(statuses, string(c.Status))
		nexts = append(nexts, next)
		respStatus = append(respStatus, int32(a.ResponseStatus))
		errs = append(errs, text(a.Error))
		durs = append(durs, int64(a.Duration))
		atOf[i] = micro(at)
		ats = append(ats, atOf[i])
		started = append(started, micro(a.StartedAt))
		reqHeaders = append(reqHeaders, string(reqH))
		respHdrs = append(respHdrs, string(respH))
		bodies = append(bodies, []byte(a.ResponseBody))
		trouble = append(trouble, bad)
		sent = append(sent, i)
	}

	var res webhooks.CompleteResult
	run := func(q querier) error {
		res = webhooks.CompleteResult{}
		rows, err := q.Query(ctx, s.sql(completeSQL), ids, tokens, statuses, nexts, respStatus, errs, durs,
			ats, started, reqHeaders, respHdrs, bodies, trouble)
		if err != nil {
			return err
		}
		accepted := make([]bool, len(cs))
		hookOf := make([]int64, len(cs))
		type hookState struct {
			failures, threshold int
			active              bool
		}
		states := map[int64]*hookState{}
		for rows.Next() {
			var (
				kind                int
				ord, hook           int64
				failures, threshold int
				active              bool
			)
			if err := rows.Scan(&kind, &ord, &hook, &failures, &threshold, &active); err != nil {
				rows.Close()
				return err
			}
			switch kind {
			case 1:
				i := sent[ord-1]
				accepted[i], hookOf[i] = true, hook
			case 2:
				states[hook] = &hookState{failures: failures, threshold: threshold, active: active}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range cs {
			if !accepted[i] {
				res.Stale = append(res.Stale, cs[i].DeliveryID)
			}
		}
		if len(states) == 0 {
			return nil
		}
		// Replay the locked webhooks' completions in order, as if one
		// at a time.
		type change struct {
			failures int
			disable  bool
			reason   string
			at       time.Time
		}
		changes := map[int64]*change{}
		for i := range cs {
			st := states[hookOf[i]]
			if !accepted[i] || st == nil {
				continue
			}
			c := &cs[i]
			ch := changes[hookOf[i]]
			if ch == nil {
				ch = &change{}
				changes[hookOf[i]] = ch
			}
			reason := c.DisableWebhook
			if c.Status == webhooks.StatusSuccess {
				st.failures = 0
			} else {
				st.failures++
				if reason == "" && st.threshold > 0 && st.failures >= st.threshold {
					reason = webhooks.AutoDisableReason(st.failures)
				}
			}
			ch.failures = st.failures
			if reason != "" && st.active {
				st.active = false
				ch.disable, ch.reason = true, text(reason)
				ch.at = atOf[i]
				res.Disabled = append(res.Disabled, webhooks.DisabledWebhook{ID: hookOf[i], Reason: reason})
			}
		}
		var (
			hIDs     = make([]int64, 0, len(changes))
			hFails   = make([]int32, 0, len(changes))
			hDisable = make([]bool, 0, len(changes))
			hReasons = make([]string, 0, len(changes))
			hAts     = make([]time.Time, 0, len(changes))
		)
		for id, ch := range changes {
			hIDs = append(hIDs, id)
			hFails = append(hFails, int32(ch.failures))
			hDisable = append(hDisable, ch.disable)
			hReasons = append(hReasons, ch.reason)
			hAts = append(hAts, ch.at)
		}
		_, err = q.Exec(ctx, s.sql(updateHooksSQL), hIDs, hFails, hDisable, hReasons, hAts)
		return err
	}
	var err error
	if anyTrouble {
		err = s.inTx(ctx, func(tx pgx.Tx) error { return run(tx) })
	} else {
		err = run(s.db()) // one statement: its own transaction
	}
	if err != nil {
		return webhooks.CompleteResult{}, fmt.Errorf("pgstore: complete: %w", err)
	}
	return res, nil
}

// completeSQL records completions from arrays ($1 … $13, one element per
// completion; $13 marks those that failed or disable their webhook).
//
//   - upd: fenced update of the deliveries (current token, claim not yet
//     completed); the rows it returns are the accepted completions.
//   - att: their attempts, numbered by the new attempt count.
//   - lockw: the webhooks of accepted completions that need a change: those
//     with a failure or a disable (troubled), and healthy ones whose counter
//     is not 0. Locked in ID order, so concurrent completions cannot
//     deadlock on them.
//   - healthy: reset the counter of webhooks with only successes.
//
// The result lists accepted completions (kind 1, with their 1-based
// position in the arrays) and the troubled webhooks' current state (kind 2),
// which the caller updates with updateHooksSQL in the same transaction.
const completeSQL = `WITH c AS (
	SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[], $5::int[], $6::text[],
		$7::bigint[], $8::timestamptz[], $9::timestamptz[], $10::text[], $11::text[], $12::bytea[], $13::bool[])
		WITH ORDINALITY AS c(id, token, status, next_at, resp_status, err, dur, at, started, req_h, resp_h, body, trouble, ord)
), upd AS (
	UPDATE {s}.webhooks_deliveries AS d SET status = c.status, attempt_count = d.attempt_count + 1,
		next_attempt_at = coalesce(c.next_at, d.next_attempt_at), lease_until = NULL,
		response_status = c.resp_status, error_message = c.err, duration_ns = c.dur, updated_at = c.at
	FROM c
	WHERE d.id = c.id AND d.token = c.token AND d.lease_until IS NOT NULL
	RETURNING c.ord, d.id, d.webhook_id, d.attempt_count, c.trouble
), att AS (
	INSERT INTO {s}.webhooks_attempts (delivery_id, number, started_at, request_headers,
		response_status, response_headers, response_body, duration_ns, error)
	SELECT upd.id, upd.attempt_count, c.started, c.req_h, c.resp_status, c.resp_h, c.body, c.dur, c.err
	FROM upd JOIN c ON c.ord = upd.ord
), lockw AS (
	SELECT w.id, w.consecutive_failures, w.auto_disable_after_failures, w.is_active, t.trouble
	FROM {s}.webhooks_endpoints AS w
	JOIN (SELECT upd.webhook_id, bool_or(upd.trouble) AS trouble FROM upd GROUP BY upd.webhook_id) AS t
		ON t.webhook_id = w.id
	WHERE t.trouble OR w.consecutive_failures <> 0
	ORDER BY w.id
	FOR NO KEY UPDATE OF w
), healthy AS (
	UPDATE {s}.webhooks_endpoints AS w SET consecutive_failures = 0
	FROM lockw WHERE w.id = lockw.id AND NOT lockw.trouble
)
SELECT 1, upd.ord, upd.webhook_id, 0, 0, false FROM upd
UNION ALL
SELECT 2, 0::bigint, lockw.id, lockw.consecutive_failures, lockw.auto_disable_after_failures, lockw.is_active
FROM lockw WHERE lockw.trouble`

// updateHooksSQL writes the troubled webhooks' counters and, for those
// disabled, the reason and time.
const updateHooksSQL = `UPDATE {s}.webhooks_endpoints AS w SET consecutive_failures = u.failures,
	is_active = w.is_active AND NOT u.disable,
	disabled_reason = CASE WHEN u.disable THEN u.reason ELSE w.disabled_reason END,
	updated_at = CASE WHEN u.disable THEN u.at ELSE w.updated_at END
FROM unnest($1::bigint[], $2::int[], $3::bool[], $4::text[], $5::timestamptz[]) AS u(id, failures, disable, reason, at)
WHERE w.id = u.id`

// Release clears the lease of each current, uncompleted claim in one
// statement (stale refs are ignored) and, when it released any, notifies
// the schema's channel in the same transaction, so other processes take
// them at once.
func (s *Store) Release(ctx context.Context, claims []webhooks.ClaimRef) error {
	if len(claims) == 0 {
		return nil
	}
	ids, tokens := make([]int64, len(claims)), make([]int64, len(claims))
	for i, c := range claims {
		ids[i], tokens[i] = c.DeliveryID, c.Token
	}
	var released, woke int64
	err := s.db().QueryRow(ctx, s.sql(`WITH r AS (
	UPDATE {s}.webhooks_deliveries AS d SET lease_until = NULL
	FROM unnest($1::bigint[], $2::bigint[]) AS u(id, token)
	WHERE d.id = u.id AND d.token = u.token AND d.lease_until IS NOT NULL
	RETURNING d.id
), wake AS (
	SELECT pg_notify($3, '') WHERE EXISTS (SELECT 1 FROM r)
)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM wake)`), ids, tokens, s.channel).Scan(&released, &woke)
	if err != nil {
		return fmt.Errorf("pgstore: release: %w", err)
	}
	return nil
}

// GetDelivery returns a delivery with its attempts, oldest first, read in
// one statement (one snapshot), or an error wrapping webhooks.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*webhooks.Delivery, error) {
	rows, err := s.db().Query(ctx, s.sql(`SELECT `+deliveryCols+`, a.number, a.started_at, a.request_headers,
	a.response_status, a.response_headers, a.response_body, a.duration_ns, a.error
FROM {s}.webhooks_deliveries AS d
JOIN {s}.webhooks_events AS e ON e.id = d.event_pk
LEFT JOIN {s}.webhooks_attempts AS a ON a.delivery_id = d.id
WHERE d.id = $1
ORDER BY a.number`), id)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get delivery %d: %w", id, err)
	}
	defer rows.Close()
	var d *webhooks.Delivery
	for rows.Next() {
		var (
			cur     webhooks.Delivery
			number  *int
			started *time.Time
			reqH    *string
			status  *int
			respH   *string
			body    []byte
			dur     *int64
			aerr    *string
		)
		dest, finish := deliveryDest(&cur)
		if err := rows.Scan(append(dest, &number, &started, &reqH, &status, &respH, &body, &dur, &aerr)...); err != nil {
			return nil, fmt.Errorf("pgstore: get delivery %d: %w", id, err)
		}
		if d == nil {
			finish()
			d = &cur
		}
		if number == nil {
			continue // no attempts
		}
		a := webhooks.Attempt{Number: *number, StartedAt: utc(*started), ResponseStatus: *status,
			ResponseBody: string(body), Duration: time.Duration(*dur), Error: *aerr}
		if err := sqlshared.DecodeAttemptHeaders(&a, []byte(*reqH), []byte(*respH)); err != nil {
			return nil, fmt.Errorf("pgstore: get delivery %d: %w", id, err)
		}
		d.Attempts = append(d.Attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: get delivery %d: %w", id, err)
	}
	if d == nil {
		return nil, notFound("delivery", id)
	}
	return d, nil
}

// ListDeliveries returns deliveries newest first (by ID), without attempts:
// those of p.WebhookID (0: all) with status p.Status ("": any) and ID below
// p.Before (0: from the newest), at most p.Limit (default 20, at most 1000).
// Each filter has an index that also gives the order: (webhook_id, status,
// id), (webhook_id, id) or (status, id).
func (s *Store) ListDeliveries(ctx context.Context, p webhooks.ListDeliveriesParams) ([]*webhooks.Delivery, error) {
	limit := sqlshared.ListLimit(p.Limit, DefaultListLimit, MaxListLimit)
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if p.WebhookID != 0 {
		where = append(where, `d.webhook_id = `+arg(p.WebhookID))
	}
	if p.Status != "" {
		where = append(where, `d.status = `+arg(string(p.Status)))
	}
	if p.Before > 0 {
		where = append(where, `d.id < `+arg(p.Before))
	}
	query := `SELECT ` + deliveryCols + ` FROM {s}.webhooks_deliveries AS d
JOIN {s}.webhooks_events AS e ON e.id = d.event_pk`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY d.id DESC LIMIT ` + arg(limit)
	rows, err := s.db().Query(ctx, s.sql(query), args...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list deliveries: %w", err)
	}
	defer rows.Close()
	var out []*webhooks.Delivery
	for rows.Next() {
		d := new(webhooks.Delivery)
		dest, finish := deliveryDest(d)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("pgstore: list deliveries: %w", err)
		}
		finish()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list deliveries: %w", err)
	}
	return out, nil
}

// RetryDelivery makes a FAILED or RETRYING delivery RETRYING and due at now
// (UpdatedAt too), and notifies the schema's channel in the same
// transaction. Its attempt count and any current lease are kept. Other
// statuses fail with an error wrapping webhooks.ErrNotRetryable, a missing
// delivery with one wrapping webhooks.ErrNotFound.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) error {
	var (
		n, woke int64
		status  *string
	)
	err := s.db().QueryRow(ctx, s.sql(`WITH u AS (
	UPDATE {s}.webhooks_deliveries SET status = 'RETRYING', next_attempt_at = $2, updated_at = $2
	WHERE id = $1 AND status IN ('FAILED', 'RETRYING')
	RETURNING id
), wake AS (
	SELECT pg_notify($3, '') FROM u
)
SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM wake),
	(SELECT status FROM {s}.webhooks_deliveries WHERE id = $1)`), id, micro(now), s.channel).Scan(&n, &woke, &status)
	switch {
	case err != nil:
		return fmt.Errorf("pgstore: retry delivery %d: %w", id, err)
	case n > 0:
		return nil
	case status == nil:
		return notFound("delivery", id)
	}
	return fmt.Errorf("pgstore: retry delivery %d: status %s: %w", id, *status, webhooks.ErrNotRetryable)
}

// Purge deletes the deliveries created before the cutoff (their attempts
// by cascade), then the events created before it that no delivery
// references any more, and returns how many deliveries it deleted. It
// deletes PurgeBatch rows per statement, each its own transaction (or
// inside the host transaction for a WithTx view), so it never holds many
// locks for long; on error it returns the deliveries deleted so far.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	cutoff := micro(before)
	var total int64
	for {
		tag, err := s.db().Exec(ctx, s.sql(`DELETE FROM {s}.webhooks_deliveries WHERE id IN (
	SELECT id FROM {s}.webhooks_deliveries WHERE created_at < $1 LIMIT $2)`), cutoff, PurgeBatch)
		if err != nil {
			return total, fmt.Errorf("pgstore: purge: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < PurgeBatch {
			break
		}
	}
	for {
		tag, err := s.db().Exec(ctx, s.sql(`DELETE FROM {s}.webhooks_events WHERE id IN (
	SELECT e.id FROM {s}.webhooks_events AS e WHERE e.created_at < $1
	  AND NOT EXISTS (SELECT 1 FROM {s}.webhooks_deliveries AS d WHERE d.event_pk = e.id)
	LIMIT $2)`), cutoff, PurgeBatch)
		if err != nil {
			return total, fmt.Errorf("pgstore: purge events: %w", err)
		}
		if tag.RowsAffected() < PurgeBatch {
			break
		}
	}
	return total, nil
}
