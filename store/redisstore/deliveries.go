package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	webhooks "github.com/webhookkit/webhooks"
)

// Bounds of one Enqueue or Complete script call, so that no call holds
// Redis for long; larger calls are split (atomicity is per event and per
// completion).
const (
	maxEnqueueEvents   = 500
	maxEnqueueWebhooks = 5000
	maxCompletions     = 500
	maxScriptBytes     = 8 << 20 // payloads or attempts per call, beyond the first
)

// deliveryFrom decodes a delivery hash.
func deliveryFrom(m map[string]string) webhooks.Delivery {
	co, hasCo := m["co"]
	return webhooks.Delivery{
		ID:             atoi64(m["id"]),
		EventID:        m["ev"],
		EventType:      m["type"],
		WebhookID:      atoi64(m["wh"]),
		CompanyID:      optInt64(co, hasCo),
		Status:         webhooks.DeliveryStatus(m["status"]),
		AttemptCount:   atoi(m["n"]),
		NextAttemptAt:  fromMicros(m["next"]),
		ResponseStatus: atoi(m["rs"]),
		ErrorMessage:   m["err"],
		Duration:       time.Duration(atoi64(m["dur"])),
		CreatedAt:      fromMicros(m["created"]),
		UpdatedAt:      fromMicros(m["updated"]),
	}
}

// storedAttempt is the JSON of one attempt in K.."att:"..id. A response
// body that is not valid UTF-8 goes base64-encoded in b64, so it comes
// back byte for byte.
type storedAttempt struct {
	StartedAt       int64       `json:"t"`
	RequestHeaders  http.Header `json:"rq,omitempty"`
	ResponseStatus  int         `json:"st,omitempty"`
	ResponseHeaders http.Header `json:"rs,omitempty"`
	Body            string      `json:"b,omitempty"`
	Body64          []byte      `json:"b64,omitempty"`
	Duration        int64       `json:"d,omitempty"`
	Error           string      `json:"e,omitempty"`
}

func encodeAttempt(a webhooks.Attempt) (string, error) {
	sa := storedAttempt{
		StartedAt:       a.StartedAt.UnixMicro(),
		RequestHeaders:  a.RequestHeaders,
		ResponseStatus:  a.ResponseStatus,
		ResponseHeaders: a.ResponseHeaders,
		Duration:        int64(a.Duration),
		Error:           a.Error,
	}
	if utf8.ValidString(a.ResponseBody) {
		sa.Body = a.ResponseBody
	} else {
		sa.Body64 = []byte(a.ResponseBody)
	}
	b, err := json.Marshal(sa)
	return string(b), err
}

func decodeAttempt(s string, number int) webhooks.Attempt {
	var sa storedAttempt
	_ = json.Unmarshal([]byte(s), &sa)
	a := webhooks.Attempt{
		Number:          number,
		StartedAt:       time.UnixMicro(sa.StartedAt).UTC(),
		RequestHeaders:  sa.RequestHeaders,
		ResponseStatus:  sa.ResponseStatus,
		ResponseHeaders: sa.ResponseHeaders,
		ResponseBody:    sa.Body,
		Duration:        time.Duration(sa.Duration),
		Error:           sa.Error,
	}
	if sa.Body64 != nil {
		a.ResponseBody = string(sa.Body64)
	}
	return a
}

// Enqueue implements webhooks.Store with enqueue.lua. For each event whose
// ID is not yet stored it keeps the event (payload byte for byte) and
// creates one PENDING delivery, due at CreatedAt (the current time when
// zero), per listed webhook that exists (a webhook listed twice gets one
// delivery); delivery IDs come from INCRBY. An event ID already stored,
// including one earlier in the same call, is reported Duplicate and adds
// nothing. With Lease > 0 the deliveries are created claimed until
// CreatedAt+Lease with token 1. Each event is atomic; a call of more than
// 500 events (or 5,000 deliveries, or 8 MiB of payloads) is split into
// several scripts. Creating due deliveries
// publishes a wake-up. An empty EventID fails the whole call with an error
// wrapping webhooks.ErrInvalid before anything is stored.
func (s *Store) Enqueue(ctx context.Context, events []webhooks.EnqueueEvent) ([]webhooks.EnqueueResult, error) {
	for i := range events {
		if events[i].EventID == "" {
			return nil, fmt.Errorf("redisstore: enqueue: event %d has no ID: %w", i, webhooks.ErrInvalid)
		}
	}
	out := make([]webhooks.EnqueueResult, 0, len(events))
	now := time.Now().UTC()
	for start := 0; start < len(events); {
		end, hooks, size := start, 0, 0
		for end < len(events) && end-start < maxEnqueueEvents {
			e := &events[end]
			if end > start && (hooks+len(e.WebhookIDs) > maxEnqueueWebhooks || size+len(e.Payload) > maxScriptBytes) {
				break
			}
			hooks += len(e.WebhookIDs)
			size += len(e.Payload)
			end++
		}
		res, err := s.enqueue(ctx, events[start:end], now)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
		start = end
	}
	return out, nil
}

func (s *Store) enqueue(ctx context.Context, events []webhooks.EnqueueEvent, now time.Time) ([]webhooks.EnqueueResult, error) {
	args := make([]any, 0, 1+len(events)*9)
	args = append(args, len(events))
	for i := range events {
		ev := &events[i]
		created := ev.CreatedAt
		if created.IsZero() {
			created = now
		}
		co := ""
		if ev.CompanyID != nil {
			co = itoa(*ev.CompanyID)
		}
		lease := "0"
		if ev.Lease > 0 {
			lease = itoa(max(created.Add(ev.Lease).UnixMicro(), created.UnixMicro()+1))
		}
		payload := ev.Payload
		if payload == nil {
			payload = []byte{}
		}
		args = append(args, ev.EventID, ev.EventType, co, payload, micros(created), lease, len(ev.WebhookIDs))
		for _, id := range ev.WebhookIDs {
			if ev.Lease > 0 && !ev.Leased(id) {
				args = append(args, "!"+itoa(id))
			} else {
				args = append(args, itoa(id))
			}
		}
	}
	keys := []string{s.key("seq", "delivery"), s.key("events"), s.key("leases"), s.key("hist"), s.key("created")}
	res, err := s.run(ctx, scriptEnqueue, keys, args...)
	if err != nil {
		return nil, wrap("enqueue", err)
	}
	flat := list(res)
	out := make([]webhooks.EnqueueResult, len(events))
	at := 0
	next := func() int64 {
		if at >= len(flat) {
			return 0
		}
		at++
		return int64Of(flat[at-1])
	}
	for i := range events {
		out[i].Duplicate = next() == 1
		n := int(next())
		for range n {
			id, wid := next(), next()
			var token int64
			if events[i].Leased(wid) {
				token = 1
			}
			out[i].Deliveries = append(out[i].Deliveries, webhooks.EnqueuedDelivery{ID: id, WebhookID: wid, Token: token})
		}
	}
	return out, nil
}

// Claim implements webhooks.Store with claim.lua. It first returns up to
// Batch deliveries whose lease lapsed to their queues, then leases up to
// p.Limit (none when p.Limit <= 0) PENDING or RETRYING deliveries of
// active webhooks not in p.ExcludeWebhooks, due at p.Now (the current time
// when zero), oldest due first (ties by ID within one webhook); when
// p.MaxPerWebhook > 0, at most that many of any one webhook. Each gets its
// delivery's next fencing token (HINCRBY; 1 on the first claim) and a
// lease until p.Now+p.Lease. p.Lease <= 0 fails with an error wrapping
// webhooks.ErrInvalid.
//
// Deliveries wait in one due zset per webhook, and a zset of the active
// webhooks scored by their earliest due delivery tells the script which
// queues to look at: a disabled webhook's backlog is never scanned, and a
// claim reads about p.Limit webhooks' queues whatever the backlog.
func (s *Store) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	if p.Lease <= 0 {
		return nil, fmt.Errorf("redisstore: claim: lease %v: %w", p.Lease, webhooks.ErrInvalid)
	}
	if p.Limit <= 0 {
		return nil, nil
	}
	now := nowOr(p.Now)
	until := time.UnixMicro(max(now.Add(p.Lease).UnixMicro(), now.UnixMicro()+1)).UTC()
	args := make([]any, 0, 5+len(p.ExcludeWebhooks))
	args = append(args, micros(now), micros(until), p.Limit, max(p.MaxPerWebhook, 0), Batch)
	for _, id := range p.ExcludeWebhooks {
		args = append(args, itoa(id))
	}
	res, err := s.run(ctx, scriptClaim, []string{s.key("ready"), s.key("leases")}, args...)
	if err != nil {
		return nil, wrap("claim", err)
	}
	parts := list(res)
	if len(parts) != 3 {
		return nil, fmt.Errorf("redisstore: claim: unexpected reply %v", res)
	}
	hooks := map[int64]map[string]string{}
	for _, h := range list(parts[1]) {
		m := hashOf(h)
		hooks[atoi64(m["id"])] = m
	}
	payloads := map[string]string{}
	evs := list(parts[2])
	for i := 0; i+1 < len(evs); i += 2 {
		payloads[str(evs[i])] = str(evs[i+1])
	}
	ds := list(parts[0])
	out := make([]*webhooks.ClaimedDelivery, 0, len(ds))
	for _, h := range ds {
		m := hashOf(h)
		d := deliveryFrom(m)
		out = append(out, &webhooks.ClaimedDelivery{
			Delivery:   d,
			Token:      atoi64(m["tok"]),
			LeaseUntil: until,
			Webhook:    webhookFrom(hooks[d.WebhookID]),
			Payload:    []byte(payloads[d.EventID]),
		})
	}
	return out, nil
}

// Complete implements webhooks.Store with complete.lua. A completion is
// applied only when its token is the delivery's current one and the claim
// has been neither completed nor released; otherwise (including for a
// delivery deleted meanwhile) it is listed in Stale and changes nothing. An
// applied completion records the attempt (numbered AttemptCount+1), sets
// the status, the latest-attempt summary, UpdatedAt (Now, the current time
// when zero) and, for RETRYING, NextAttemptAt (Now when zero), and drops
// the lease. A SUCCESS resets the webhook's ConsecutiveFailures, anything
// else increments it; the webhook is disabled with
// webhooks.AutoDisableReason when the counter reaches
// AutoDisableAfterFailures (> 0), or with Completion.DisableWebhook when
// set (that reason wins). Only webhooks that were active are listed in
// Disabled. Each completion is atomic with its webhook's update; up to 500
// (and about 8 MiB of attempts) go in one script. An invalid Status fails the call with an error
// wrapping webhooks.ErrInvalid before anything changes.
func (s *Store) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	var res webhooks.CompleteResult
	for _, c := range cs {
		switch c.Status {
		case webhooks.StatusSuccess, webhooks.StatusRetrying, webhooks.StatusFailed:
		default:
			return res, fmt.Errorf("redisstore: complete delivery %d: status %q is not SUCCESS, RETRYING or FAILED: %w",
				c.DeliveryID, c.Status, webhooks.ErrInvalid)
		}
	}
	for start := 0; start < len(cs); {
		args := make([]any, 3, 3+10*min(len(cs)-start, maxCompletions))
		n, size := 0, 0
		for ; start < len(cs) && n < maxCompletions && (n == 0 || size <= maxScriptBytes); start, n = start+1, n+1 {
			c := cs[start]
			att, err := encodeAttempt(c.Attempt)
			if err != nil {
				return res, fmt.Errorf("redisstore: complete delivery %d: encoding attempt: %w", c.DeliveryID, err)
			}
			size += len(att)
			now := nowOr(c.Now)
			next := now
			if !c.NextAttemptAt.IsZero() {
				next = c.NextAttemptAt
			}
			args = append(args, itoa(c.DeliveryID), itoa(c.Token), string(c.Status), micros(next), micros(now),
				att, c.Attempt.ResponseStatus, c.Attempt.Error, int64(c.Attempt.Duration), c.DisableWebhook)
		}
		args[0], args[1], args[2] = s.disableBefore, s.disableAfter, n
		out, err := s.run(ctx, scriptComplete, []string{s.key("leases"), s.key("ready")}, args...)
		if err != nil {
			return res, wrap("complete", err)
		}
		parts := list(out)
		if len(parts) != 2 {
			return res, fmt.Errorf("redisstore: complete: unexpected reply %v", out)
		}
		for _, id := range list(parts[0]) {
			res.Stale = append(res.Stale, int64Of(id))
		}
		dis := list(parts[1])
		for i := 0; i+1 < len(dis); i += 2 {
			res.Disabled = append(res.Disabled, webhooks.DisabledWebhook{ID: int64Of(dis[i]), Reason: str(dis[i+1])})
		}
	}
	return res, nil
}

// Release implements webhooks.Store with release.lua: each current,
// uncompleted claim loses its lease and is due again at once (no attempt
// recorded); other refs are ignored. Releasing anything publishes a
// wake-up.
func (s *Store) Release(ctx context.Context, claims []webhooks.ClaimRef) error {
	if len(claims) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(claims))
	for _, c := range claims {
		args = append(args, itoa(c.DeliveryID), itoa(c.Token))
	}
	if _, err := s.run(ctx, scriptRelease, []string{s.key("leases"), s.key("ready")}, args...); err != nil {
		return wrap("release", err)
	}
	return nil
}

// GetDelivery implements webhooks.Store with get_delivery.lua: the
// delivery with its attempts, oldest first, or an error wrapping
// webhooks.ErrNotFound.
func (s *Store) GetDelivery(ctx context.Context, id int64) (*webhooks.Delivery, error) {
	res, err := s.run(ctx, scriptGetDelivery, []string{s.deliveryKey(id), s.key("att", itoa(id))})
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redisstore: delivery %d: %w", id, webhooks.ErrNotFound)
	}
	if err != nil {
		return nil, wrap(fmt.Sprintf("get delivery %d", id), err)
	}
	parts := list(res)
	if len(parts) != 2 {
		return nil, fmt.Errorf("redisstore: get delivery %d: unexpected reply %v", id, res)
	}
	d := deliveryFrom(hashOf(parts[0]))
	atts := list(parts[1])
	d.Attempts = make([]webhooks.Attempt, len(atts))
	for i, a := range atts {
		d.Attempts[i] = decodeAttempt(str(a), i+1)
	}
	return &d, nil
}

// ListDeliveries implements webhooks.Store with list_deliveries.lua:
// deliveries without attempts, newest (highest ID) first, filtered by
// p.WebhookID (0: all), p.Status ("": all) and p.Before (> 0: IDs below
// it). p.Limit <= 0 means DefaultListLimit and is capped at MaxListLimit.
// Each filter combination has its own zset scored by ID (all, per webhook,
// per status, per webhook and status), so a page costs O(log n + limit)
// whatever the filter.
func (s *Store) ListDeliveries(ctx context.Context, p webhooks.ListDeliveriesParams) ([]*webhooks.Delivery, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	var idx string
	switch {
	case p.WebhookID != 0 && p.Status != "":
		idx = s.key("hist", "ws", itoa(p.WebhookID), string(p.Status))
	case p.WebhookID != 0:
		idx = s.key("hist", "w", itoa(p.WebhookID))
	case p.Status != "":
		idx = s.key("hist", "s", string(p.Status))
	default:
		idx = s.key("hist")
	}
	if p.Status != "" && !p.Status.Valid() {
		return []*webhooks.Delivery{}, nil
	}
	top := "+inf"
	if p.Before > 0 {
		top = "(" + itoa(p.Before)
	}
	res, err := s.run(ctx, scriptListDeliveries, []string{idx}, top, limit)
	if err != nil {
		return nil, wrap("list deliveries", err)
	}
	rows := list(res)
	out := make([]*webhooks.Delivery, len(rows))
	for i, h := range rows {
		d := deliveryFrom(hashOf(h))
		out[i] = &d
	}
	return out, nil
}

// RetryDelivery implements webhooks.Store with retry.lua: a FAILED or
// RETRYING delivery becomes RETRYING and due at now (UpdatedAt now too),
// and a wake-up is published. Other statuses fail with an error wrapping
// webhooks.ErrNotRetryable, a missing delivery with one wrapping
// webhooks.ErrNotFound. The attempt count is kept.
func (s *Store) RetryDelivery(ctx context.Context, id int64, now time.Time) error {
	res, err := s.run(ctx, scriptRetry, []string{s.deliveryKey(id), s.key("leases"), s.key("ready")},
		itoa(id), micros(nowOr(now)))
	if err != nil {
		return wrap(fmt.Sprintf("retry delivery %d", id), err)
	}
	switch r := str(res); {
	case r == "NOTFOUND":
		return fmt.Errorf("redisstore: delivery %d: %w", id, webhooks.ErrNotFound)
	case strings.HasPrefix(r, "NOTRETRYABLE:"):
		return fmt.Errorf("redisstore: delivery %d is %s: %w", id, strings.TrimPrefix(r, "NOTRETRYABLE:"), webhooks.ErrNotRetryable)
	}
	return nil
}

// Purge implements webhooks.Store with purge.lua, Batch deliveries per
// script call: it deletes the deliveries (with their attempts) created
// before the cutoff, then the events created before it that have no
// deliveries left, and returns how many deliveries it deleted. A purged
// event's ID can be enqueued again. It first finishes deleting the
// deliveries of webhooks whose DeleteWebhook was interrupted.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	left, err := s.rdb.SMembers(ctx, s.key("trash")).Result()
	if err != nil {
		return 0, wrap("purge", err)
	}
	for _, w := range left {
		id, err := strconv.ParseInt(w, 10, 64)
		if err != nil {
			continue
		}
		if err := s.drainTrash(ctx, id); err != nil {
			return 0, wrap("purge: deleting a deleted webhook's deliveries", err)
		}
	}
	var total, offset int64
	for {
		res, err := s.run(ctx, scriptPurge, []string{s.key("created"), s.key("events")}, micros(before), Batch, offset)
		if err != nil {
			return total, wrap("purge", err)
		}
		r := list(res)
		if len(r) != 3 {
			return total, fmt.Errorf("redisstore: purge: unexpected reply %v", res)
		}
		deleted, examined, skipped := int64Of(r[0]), int64Of(r[1]), int64Of(r[2])
		total += deleted
		if deleted == Batch {
			continue
		}
		if examined < Batch {
			return total, nil
		}
		offset += skipped
	}
}
