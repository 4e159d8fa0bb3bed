package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

func matchCases() []testCase {
	return []testCase{
		single("MatchCompanyScoping", testMatchScoping),
		single("MatchPatterns", testMatchPatterns),
		single("MatchSkipsInactive", testMatchInactive),
	}
}

func enqueueCases() []testCase {
	return []testCase{
		single("EnqueueCreatesPendingDeliveries", testEnqueuePending),
		single("EnqueueDuplicateEventID", testEnqueueDuplicate),
		single("EnqueueManyEventsInOneCall", testEnqueueMany),
		single("EnqueueSkipsUnknownWebhooks", testEnqueueUnknownWebhook),
		single("EnqueueWithLease", testEnqueueLease),
		single("EnqueueLeaseOnly", testEnqueueLeaseOnly),
		single("EnqueueWebhookListedTwiceGetsOneDelivery", testEnqueueListedTwice),
	}
}

func testEnqueueListedTwice(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt", nil, Base, a, b, a, b, a)})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.Len(t, res[0].Deliveries, 2, "one delivery per distinct webhook")
	require.Equal(t, a, res[0].Deliveries[0].WebhookID, "in the order of first mention")
	require.Equal(t, b, res[0].Deliveries[1].WebhookID)
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100}), 2)

	// Also when the deliveries are created leased.
	e := ev("evt-leased", nil, Base, b, b)
	e.Lease = time.Minute
	res, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{e})
	require.NoError(t, err)
	require.Len(t, res[0].Deliveries, 1)
	require.Positive(t, res[0].Deliveries[0].Token)
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: b, Limit: 100}), 2)
	require.ElementsMatch(t, []int64{res[0].Deliveries[0].ID},
		deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: b, Limit: 1})), "newest first")
}

func testMatchScoping(t *testing.T, s webhooks.Store) {
	sys := createSimple(t, s, "sys", nil)
	c1 := createSimple(t, s, "c1", company(1))
	c2 := createSimple(t, s, "c2", company(2))
	c1b := createSimple(t, s, "c1b", company(1))

	require.Equal(t, []int64{sys, c1, c1b}, match(t, s, company(1), "inspection.created"),
		"system-wide plus the company's, by ID")
	require.Equal(t, []int64{sys, c2}, match(t, s, company(2), "inspection.created"))
	require.Equal(t, []int64{sys}, match(t, s, company(3), "inspection.created"),
		"a company without webhooks reaches only system-wide ones")
	require.Equal(t, []int64{sys}, match(t, s, nil, "inspection.created"),
		"a client-wide event reaches only system-wide webhooks")

	ws, err := s.MatchWebhooks(ctx, webhooks.MatchParams{CompanyID: company(1), EventType: "inspection.created"})
	require.NoError(t, err)
	require.Len(t, ws, 3)
	require.Equal(t, "whsec_c1-0123456789abcdef", ws[1].Secret, "matched webhooks are complete")
	requireWebhook(t, getWebhook(t, s, c1), ws[1])
}

func testMatchPatterns(t *testing.T, s webhooks.Store) {
	all := create(t, s, newWebhook("all", nil, "*"))
	insp := create(t, s, newWebhook("insp", company(1), "inspection.*"))
	exact := create(t, s, newWebhook("exact", company(1), "inspection.created"))
	mixed := create(t, s, newWebhook("mixed", nil, "unit.deleted", "inspection_item.*"))
	none := create(t, s, newWebhook("none", nil))
	_ = none

	c1 := company(1)
	require.Equal(t, []int64{all, insp, exact}, match(t, s, c1, "inspection.created"))
	require.Equal(t, []int64{all, insp}, match(t, s, c1, "inspection.updated"))
	require.Equal(t, []int64{all, mixed}, match(t, s, c1, "inspection_item.created"),
		`"inspection.*" must not select inspection_item.created`)
	require.Equal(t, []int64{all}, match(t, s, c1, "unit.created"))
	require.Equal(t, []int64{all, mixed}, match(t, s, c1, "unit.deleted"))
	require.Equal(t, []int64{all, mixed}, match(t, s, nil, "unit.deleted"))
	require.Equal(t, []int64{all}, match(t, s, nil, "inspection.created"))
	require.Equal(t, []int64{all}, match(t, s, c1, "inspectionx.created"))
}

func testMatchInactive(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", company(1))
	c := createSimple(t, s, "c", company(1))
	require.NoError(t, s.SetWebhookActive(ctx, a, false, "off", Base))
	require.NoError(t, s.SetWebhookActive(ctx, c, false, "off", Base))
	require.Equal(t, []int64{b}, match(t, s, company(1), "unit.created"))
	require.NoError(t, s.SetWebhookActive(ctx, a, true, "", Base))
	require.Equal(t, []int64{a, b}, match(t, s, company(1), "unit.created"))
}

func testEnqueuePending(t *testing.T, s webhooks.Store) {
	h1 := createSimple(t, s, "h1", company(4))
	h2 := createSimple(t, s, "h2", nil)
	created := at(90*time.Second + 250*time.Millisecond)

	e := ev("evt-1", company(4), created, h1, h2)
	e.EventType = "unit.updated"
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{e})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.False(t, res[0].Duplicate)
	require.Len(t, res[0].Deliveries, 2, "one delivery per webhook")
	require.Equal(t, h1, res[0].Deliveries[0].WebhookID, "in the order of WebhookIDs")
	require.Equal(t, h2, res[0].Deliveries[1].WebhookID)
	require.NotEqual(t, res[0].Deliveries[0].ID, res[0].Deliveries[1].ID)

	for i, ed := range res[0].Deliveries {
		require.Positive(t, ed.ID)
		require.Zero(t, ed.Token, "no lease, no token")
		d := getDelivery(t, s, ed.ID)
		require.Equal(t, ed.ID, d.ID)
		require.Equal(t, "evt-1", d.EventID)
		require.Equal(t, "unit.updated", d.EventType)
		require.Equal(t, []int64{h1, h2}[i], d.WebhookID)
		requireSameInt64Ptr(t, company(4), d.CompanyID, "CompanyID")
		require.Equal(t, webhooks.StatusPending, d.Status)
		require.Zero(t, d.AttemptCount)
		require.Zero(t, d.ResponseStatus)
		require.Empty(t, d.ErrorMessage)
		require.Zero(t, d.Duration)
		require.Empty(t, d.Attempts)
		requireTime(t, created, d.CreatedAt, "CreatedAt")
		requireTime(t, created, d.NextAttemptAt, "NextAttemptAt (due from CreatedAt)")
	}

	// A client-wide event keeps a nil company.
	ids := enqueue(t, s, ev("evt-2", nil, created, h2))
	require.Nil(t, getDelivery(t, s, ids[0]).CompanyID)
}

func testEnqueueDuplicate(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	h2 := createSimple(t, s, "h2", nil)
	first := enqueue(t, s, ev("evt-dup", nil, Base, h))
	require.Len(t, first, 1)

	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt-dup", nil, at(time.Minute), h, h2)})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.True(t, res[0].Duplicate)
	require.Empty(t, res[0].Deliveries)
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100}), 1, "nothing added")

	// Still a duplicate after the first delivery completed.
	cl := claimOne(t, s, Base, first[0])
	completeOK(t, s, completion(cl, webhooks.StatusSuccess, Base))
	res, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt-dup", nil, at(time.Hour), h)})
	require.NoError(t, err)
	require.True(t, res[0].Duplicate)

	// A duplicate in the same call: the second is skipped.
	res, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt-twice", nil, Base, h), ev("evt-twice", nil, Base, h)})
	require.NoError(t, err)
	require.Len(t, res, 2)
	require.False(t, res[0].Duplicate)
	require.Len(t, res[0].Deliveries, 1)
	require.True(t, res[1].Duplicate)
	require.Empty(t, res[1].Deliveries)
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100}), 2)
}

func testEnqueueMany(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", company(1))
	var evs []webhooks.EnqueueEvent
	for i := range 30 {
		evs = append(evs, ev(fmt.Sprintf("evt-%02d", i), company(1), at(time.Duration(i)*time.Second), a, b))
	}
	// Mix in one already stored event.
	enqueue(t, s, ev("old", nil, Base, a))
	evs = append(evs[:10], append([]webhooks.EnqueueEvent{ev("old", nil, Base, a, b)}, evs[10:]...)...)

	res, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	require.Len(t, res, 31, "one result per event, in order")
	seen := map[int64]bool{}
	for i, r := range res {
		if i == 10 {
			require.True(t, r.Duplicate, "the old event")
			continue
		}
		require.False(t, r.Duplicate, "event %d", i)
		require.Len(t, r.Deliveries, 2, "event %d", i)
		for _, d := range r.Deliveries {
			require.False(t, seen[d.ID], "delivery IDs are unique")
			seen[d.ID] = true
			got := getDelivery(t, s, d.ID)
			require.Equal(t, evs[i].EventID, got.EventID, "result %d belongs to event %d", i, i)
			require.Equal(t, d.WebhookID, got.WebhookID)
		}
	}
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 1000}), 61)
}

func testEnqueueUnknownWebhook(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	gone := createSimple(t, s, "gone", nil)
	require.NoError(t, s.DeleteWebhook(ctx, gone))
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt", nil, Base, gone, a, a+1000)})
	require.NoError(t, err)
	require.Len(t, res, 1)
	require.False(t, res[0].Duplicate)
	require.Len(t, res[0].Deliveries, 1, "only the existing webhook gets a delivery")
	require.Equal(t, a, res[0].Deliveries[0].WebhookID)
	all := listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100})
	require.Len(t, all, 1)
	require.Equal(t, a, all[0].WebhookID)

	// An event with no deliverable webhook is still recorded (idempotency).
	res, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt-none", nil, Base, gone)})
	require.NoError(t, err)
	require.False(t, res[0].Duplicate)
	require.Empty(t, res[0].Deliveries)
	res, err = s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt-none", nil, Base, a)})
	require.NoError(t, err)
	require.True(t, res[0].Duplicate)
}

func testEnqueueLease(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	e := ev("evt", nil, Base, a, b)
	e.Lease = 30 * time.Second
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{e})
	require.NoError(t, err)
	require.Len(t, res[0].Deliveries, 2)
	da, db := res[0].Deliveries[0], res[0].Deliveries[1]
	require.Positive(t, da.Token, "Lease > 0 returns tokens")
	require.Positive(t, db.Token)

	require.Empty(t, claim(t, s, Base, 10, time.Minute), "leased at enqueue")
	require.Empty(t, claim(t, s, at(29*time.Second), 10, time.Minute), "lease still running")

	// The enqueue token completes the delivery.
	res2 := completeOK(t, s, webhooks.Completion{
		DeliveryID: da.ID, Token: da.Token, Status: webhooks.StatusSuccess, Now: at(time.Second),
		Attempt: webhooks.Attempt{StartedAt: Base, ResponseStatus: 200, Duration: 40 * time.Millisecond},
	})
	require.Empty(t, res2.Disabled)
	got := getDelivery(t, s, da.ID)
	require.Equal(t, webhooks.StatusSuccess, got.Status)
	require.Equal(t, 1, got.AttemptCount)

	// The other one lapses and is claimed again with a newer token.
	cl := claim(t, s, at(31*time.Second), 10, time.Minute)
	require.Equal(t, []int64{db.ID}, claimedIDs(cl))
	require.Greater(t, cl[0].Token, db.Token)
	stale := complete(t, s, webhooks.Completion{DeliveryID: db.ID, Token: db.Token, Status: webhooks.StatusSuccess, Now: at(32 * time.Second)})
	require.Equal(t, []int64{db.ID}, stale.Stale, "the enqueue token is fenced off")
}

// testEnqueueLeaseOnly: with LeaseOnly, only the listed webhooks' deliveries
// are leased; the others are due at once for Claim.
func testEnqueueLeaseOnly(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	c := createSimple(t, s, "c", nil)
	e := ev("evt", nil, Base, a, b, c)
	e.Lease = 30 * time.Second
	e.LeaseOnly = []int64{a, c}
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{e})
	require.NoError(t, err)
	require.Len(t, res[0].Deliveries, 3)
	tokens := map[int64]int64{}
	ids := map[int64]int64{}
	for _, d := range res[0].Deliveries {
		tokens[d.WebhookID], ids[d.WebhookID] = d.Token, d.ID
	}
	require.Positive(t, tokens[a], "listed: leased")
	require.Positive(t, tokens[c], "listed: leased")
	require.Zero(t, tokens[b], "not listed: no lease, no token")

	cl := claim(t, s, Base, 10, time.Minute)
	require.Equal(t, []int64{ids[b]}, claimedIDs(cl), "only the unleased delivery is due")
	completeOK(t, s, webhooks.Completion{DeliveryID: ids[a], Token: tokens[a], Status: webhooks.StatusSuccess, Now: at(time.Second),
		Attempt: webhooks.Attempt{StartedAt: Base, ResponseStatus: 200}})
	require.Equal(t, webhooks.StatusSuccess, getDelivery(t, s, ids[a]).Status, "the enqueue token completes the leased one")
}
