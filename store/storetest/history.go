package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

func historyCases() []testCase {
	return []testCase{
		single("ListDeliveriesNewestFirstAndLimit", testListDeliveriesOrder),
		single("ListDeliveriesCursorPagination", testListDeliveriesPaging),
		single("ListDeliveriesFilters", testListDeliveriesFilters),
		single("RetryDeliveryManual", testRetryDelivery),
		single("RetryDeliveryErrors", testRetryDeliveryErrors),
		single("PurgeOldDeliveries", testPurge),
		single("PurgeAllowsReenqueueOfPurgedEvents", testPurgeReenqueue),
	}
}

// seedHistory creates webhooks a and b and n events, every third one for b
// and the rest for a, due at increasing times. It returns the webhook IDs
// and the delivery IDs in creation order.
func seedHistory(t *testing.T, s webhooks.Store, n int) (a, b int64, ids []int64) {
	t.Helper()
	a = createSimple(t, s, "a", nil)
	b = createSimple(t, s, "b", company(1))
	var evs []webhooks.EnqueueEvent
	for i := range n {
		h := a
		if i%3 == 0 {
			h = b
		}
		evs = append(evs, ev(fmt.Sprintf("evt-%03d", i), nil, at(time.Duration(i)*time.Second), h))
	}
	res, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	for _, r := range res {
		require.Len(t, r.Deliveries, 1)
		ids = append(ids, r.Deliveries[0].ID)
	}
	return a, b, ids
}

func reversed(ids []int64) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

func testListDeliveriesOrder(t *testing.T, s webhooks.Store) {
	require.Empty(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 10}), "empty store")
	_, _, ids := seedHistory(t, s, 30)
	newestFirst := reversed(sortedInt64s(ids))

	all := listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100})
	require.Equal(t, newestFirst, deliveryIDs(all), "newest (highest ID) first")
	for _, d := range all {
		require.Empty(t, d.Attempts)
		require.Equal(t, webhooks.StatusPending, d.Status)
		require.Equal(t, time.UTC, d.CreatedAt.Location())
	}
	require.Equal(t, newestFirst[:5], deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 5})), "Limit")
	require.Equal(t, newestFirst[:1], deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 1})))
	def := listDeliveries(t, s, webhooks.ListDeliveriesParams{})
	require.NotEmpty(t, def, "Limit 0 takes the store's default page size")
	require.Equal(t, newestFirst[:len(def)], deliveryIDs(def))
}

func testListDeliveriesPaging(t *testing.T, s webhooks.Store) {
	_, _, ids := seedHistory(t, s, 30)
	newestFirst := reversed(sortedInt64s(ids))

	walk := func(p webhooks.ListDeliveriesParams) []int64 {
		var out []int64
		for range 100 {
			page := listDeliveries(t, s, p)
			require.LessOrEqual(t, len(page), p.Limit)
			if len(page) == 0 {
				return out
			}
			out = append(out, deliveryIDs(page)...)
			p.Before = page[len(page)-1].ID
		}
		t.Fatal("pagination does not end")
		return nil
	}
	require.Equal(t, newestFirst, walk(webhooks.ListDeliveriesParams{Limit: 7}), "pages of 7 cover everything once")
	require.Equal(t, newestFirst, walk(webhooks.ListDeliveriesParams{Limit: 10}), "pages of 10 (exact multiple)")
	require.Equal(t, newestFirst, walk(webhooks.ListDeliveriesParams{Limit: 1}))

	mid := newestFirst[12]
	require.Equal(t, newestFirst[13:16], deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Before: mid, Limit: 3})),
		"Before is exclusive")
	require.Empty(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Before: newestFirst[len(newestFirst)-1], Limit: 10}))
	require.Equal(t, newestFirst[:4], deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Before: newestFirst[0] + 1000, Limit: 4})))
}

func testListDeliveriesFilters(t *testing.T, s webhooks.Store) {
	a, b, ids := seedHistory(t, s, 24)
	byWebhook := map[int64][]int64{}
	for i, id := range ids {
		if i%3 == 0 {
			byWebhook[b] = append(byWebhook[b], id)
		} else {
			byWebhook[a] = append(byWebhook[a], id)
		}
	}
	require.Equal(t, reversed(byWebhook[a]), deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: a, Limit: 100})))
	require.Equal(t, reversed(byWebhook[b]), deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: b, Limit: 100})))
	require.Empty(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: b + 1000, Limit: 100}))

	// Give the deliveries every status: i%4 == 0 SUCCESS, 1 FAILED,
	// 2 RETRYING, 3 stays PENDING (claimed, never completed).
	now := at(time.Hour)
	cl := claim(t, s, now, 100, time.Minute)
	require.Len(t, cl, len(ids))
	statusOf := map[int64]webhooks.DeliveryStatus{}
	var cs []webhooks.Completion
	for _, c := range cl {
		idx := -1
		for i, id := range ids {
			if id == c.Delivery.ID {
				idx = i
			}
		}
		require.GreaterOrEqual(t, idx, 0)
		st := []webhooks.DeliveryStatus{webhooks.StatusSuccess, webhooks.StatusFailed, webhooks.StatusRetrying, webhooks.StatusPending}[idx%4]
		statusOf[c.Delivery.ID] = st
		if st != webhooks.StatusPending {
			cs = append(cs, completion(c, st, now))
		}
	}
	completeOK(t, s, cs...)

	for _, st := range []webhooks.DeliveryStatus{webhooks.StatusSuccess, webhooks.StatusFailed, webhooks.StatusRetrying, webhooks.StatusPending} {
		var want []int64
		var wantA []int64
		for _, id := range ids {
			if statusOf[id] == st {
				want = append(want, id)
				if contains(byWebhook[a], id) {
					wantA = append(wantA, id)
				}
			}
		}
		got := listDeliveries(t, s, webhooks.ListDeliveriesParams{Status: st, Limit: 100})
		require.Equal(t, reversed(want), deliveryIDs(got), "status %s", st)
		for _, d := range got {
			require.Equal(t, st, d.Status)
		}
		require.Equal(t, reversed(wantA), deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: a, Status: st, Limit: 100})),
			"webhook a, status %s", st)
		// Filters combine with the cursor.
		require.Equal(t, reversed(want)[1:3], deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Status: st, Before: reversed(want)[0], Limit: 2})),
			"status %s, second page", st)
	}
}

func contains(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func testRetryDelivery(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	failed := enqueueOne(t, s, "failed", Base, h)
	retrying := enqueueOne(t, s, "retrying", Base, h)
	cl := claim(t, s, Base, 10, time.Minute)
	require.Len(t, cl, 2)
	var cs []webhooks.Completion
	for _, c := range cl {
		if c.Delivery.ID == failed {
			cs = append(cs, completion(c, webhooks.StatusFailed, at(time.Second)))
		} else {
			r := completion(c, webhooks.StatusRetrying, at(time.Second))
			r.NextAttemptAt = at(24 * time.Hour)
			cs = append(cs, r)
		}
	}
	completeOK(t, s, cs...)

	now := at(time.Hour)
	require.NoError(t, s.RetryDelivery(ctx, failed, now))
	d := getDelivery(t, s, failed)
	require.Equal(t, webhooks.StatusRetrying, d.Status)
	requireTime(t, now, d.NextAttemptAt, "NextAttemptAt")
	requireTime(t, now, d.UpdatedAt, "UpdatedAt")
	require.Equal(t, 1, d.AttemptCount, "the attempt history stays")
	require.Len(t, d.Attempts, 1)

	require.NoError(t, s.RetryDelivery(ctx, retrying, now), "a RETRYING delivery can be pulled forward")
	requireTime(t, now, getDelivery(t, s, retrying).NextAttemptAt, "pulled-forward NextAttemptAt")

	got := claim(t, s, now, 10, time.Minute)
	require.ElementsMatch(t, []int64{failed, retrying}, claimedIDs(got), "due right away")
	for _, c := range got {
		completeOK(t, s, completion(c, webhooks.StatusSuccess, now))
	}
	require.Equal(t, 2, getDelivery(t, s, failed).AttemptCount)
}

func testRetryDeliveryErrors(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	ok := enqueueOne(t, s, "ok", Base, h)
	pending := enqueueOne(t, s, "pending", at(time.Hour), h)
	completeOK(t, s, completion(claimOne(t, s, Base, ok), webhooks.StatusSuccess, Base))

	err := s.RetryDelivery(ctx, ok, at(time.Minute))
	require.True(t, errors.Is(err, webhooks.ErrNotRetryable), "SUCCESS: want ErrNotRetryable, got %v", err)
	d := getDelivery(t, s, ok)
	require.Equal(t, webhooks.StatusSuccess, d.Status, "unchanged")
	requireTime(t, Base, d.UpdatedAt, "UpdatedAt unchanged")

	err = s.RetryDelivery(ctx, pending, at(time.Minute))
	require.True(t, errors.Is(err, webhooks.ErrNotRetryable), "PENDING: want ErrNotRetryable, got %v", err)
	requireTime(t, at(time.Hour), getDelivery(t, s, pending).NextAttemptAt, "PENDING unchanged")

	requireNotFound(t, s.RetryDelivery(ctx, pending+1000, at(time.Minute)), "RetryDelivery of a missing delivery")
}

func testPurge(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	old1 := enqueue(t, s, ev("old1", nil, Base, a, b))
	old2 := enqueue(t, s, ev("old2", nil, at(30*time.Minute), a))
	edge := enqueue(t, s, ev("edge", nil, at(time.Hour), a))
	fresh := enqueue(t, s, ev("fresh", nil, at(2*time.Hour), a, b))

	// Give old deliveries attempts and different states.
	cl := claim(t, s, at(31*time.Minute), 10, time.Minute)
	require.Len(t, cl, 3)
	completeOK(t, s,
		completion(cl[0], webhooks.StatusSuccess, at(31*time.Minute)),
		completion(cl[1], webhooks.StatusFailed, at(31*time.Minute)),
		completion(cl[2], webhooks.StatusRetrying, at(31*time.Minute)))

	n, err := s.Purge(ctx, at(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(3), n, "deliveries created before the cutoff")

	for _, id := range append(append([]int64{}, old1...), old2...) {
		_, err := s.GetDelivery(ctx, id)
		requireNotFound(t, err, fmt.Sprintf("purged delivery %d", id))
	}
	for _, id := range append(append([]int64{}, edge...), fresh...) {
		getDelivery(t, s, id)
	}
	want := reversed(sortedInt64s(append(append([]int64{}, edge...), fresh...)))
	require.Equal(t, want, deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100})))
	require.Len(t, listWebhooks(t, s, webhooks.ListWebhooksParams{}), 2, "webhooks are not purged")

	n, err = s.Purge(ctx, at(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to purge")
	n, err = s.Purge(ctx, at(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	require.Empty(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100}))
}

func testPurgeReenqueue(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	gone := createSimple(t, s, "gone", nil)
	enqueue(t, s, ev("old", nil, Base, a))
	enqueue(t, s, ev("orphan", nil, Base, gone))
	enqueue(t, s, ev("fresh", nil, at(2*time.Hour), a))
	require.NoError(t, s.DeleteWebhook(ctx, gone))

	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("orphan", nil, at(time.Minute), a)})
	require.NoError(t, err)
	require.True(t, res[0].Duplicate, "deleting a webhook keeps the event for idempotency")

	_, err = s.Purge(ctx, at(time.Hour))
	require.NoError(t, err)

	res, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{
		ev("old", nil, at(3*time.Hour), a),
		ev("orphan", nil, at(3*time.Hour), a),
		ev("fresh", nil, at(3*time.Hour), a),
	})
	require.NoError(t, err)
	require.False(t, res[0].Duplicate, "a purged event can be enqueued again")
	require.Len(t, res[0].Deliveries, 1)
	require.False(t, res[1].Duplicate, "an event left without deliveries is purged too")
	require.Len(t, res[1].Deliveries, 1)
	require.True(t, res[2].Duplicate, "an event with deliveries left stays")
	require.Empty(t, res[2].Deliveries)

	d := getDelivery(t, s, res[0].Deliveries[0].ID)
	require.Equal(t, "old", d.EventID)
	requireTime(t, at(3*time.Hour), d.CreatedAt, "re-enqueued CreatedAt")
	require.Zero(t, d.AttemptCount)
	require.Empty(t, d.Attempts)
}
