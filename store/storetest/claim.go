package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

func claimCases() []testCase {
	return []testCase{
		single("ClaimOnlyDue", testClaimOnlyDue),
		single("ClaimLimitAndOldestDueFirst", testClaimOrder),
		single("ClaimExcludeWebhooks", testClaimExclude),
		single("ClaimSkipsInactiveWebhooks", testClaimInactive),
		single("ClaimReturnsDeliveryWebhookAndPayload", testClaimContents),
		single("ClaimExclusiveUnderConcurrency", testClaimExclusive),
		single("LeaseExpiryAndReclaim", testLeaseExpiry),
		single("FencingRejectsStaleToken", testFencing),
		single("CompleteTwiceWithSameTokenIsStale", testCompleteTwice),
		single("ReleaseGivesClaimsBack", testRelease),
		single("ClaimMaxPerWebhookCapsEachWebhook", testClaimMaxPerWebhook),
		single("ClaimMaxPerWebhookReachesPastBacklogs", testClaimMaxPerWebhookPastBacklogs),
		single("ClaimMaxPerWebhookZeroMeansNoCap", testClaimMaxPerWebhookZero),
		single("ClaimRejectsNonPositiveLease", testClaimBadLease),
		single("ClaimZeroNowMeansCurrentTime", testClaimZeroNow),
	}
}

// enqueueBacklog enqueues n events for webhook h, due one millisecond apart
// from start, in one call, and returns the delivery IDs oldest first.
func enqueueBacklog(t *testing.T, s webhooks.Store, prefix string, h int64, n int, start time.Time) []int64 {
	t.Helper()
	evs := make([]webhooks.EnqueueEvent, n)
	for i := range evs {
		evs[i] = ev(fmt.Sprintf("%s-%03d", prefix, i), nil, start.Add(time.Duration(i)*time.Millisecond), h)
	}
	res, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	ids := make([]int64, n)
	for i, r := range res {
		require.Len(t, r.Deliveries, 1)
		ids[i] = r.Deliveries[0].ID
	}
	return ids
}

func claimCapped(t *testing.T, s webhooks.Store, now time.Time, limit, perWebhook int, exclude ...int64) []*webhooks.ClaimedDelivery {
	t.Helper()
	got, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: limit, Lease: time.Hour,
		ExcludeWebhooks: exclude, MaxPerWebhook: perWebhook})
	require.NoError(t, err)
	require.LessOrEqual(t, len(got), limit, "Claim returned more than Limit")
	return got
}

func concat(lists ...[]int64) []int64 {
	var out []int64
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func testClaimMaxPerWebhook(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	as := enqueueBacklog(t, s, "a", a, 50, Base)
	bs := enqueueBacklog(t, s, "b", b, 5, at(time.Minute)) // behind all of a's

	now := at(time.Hour)
	cl := claimCapped(t, s, now, 20, 4)
	require.Equal(t, concat(as[:4], bs[:4]), claimedIDs(cl),
		"the oldest 4 of a, then the oldest 4 of b behind a's backlog, oldest due first")
	for _, c := range cl {
		require.Equal(t, c.Delivery.WebhookID, c.Webhook.ID)
	}

	// The cap counts this claim only: a's next 4, b's last one.
	require.Equal(t, concat(as[4:8], bs[4:]), claimedIDs(claimCapped(t, s, now, 20, 4)))
	// Limit still caps the batch.
	require.Equal(t, as[8:11], claimedIDs(claimCapped(t, s, now, 3, 4)))
	// A cap of at least Limit changes nothing.
	require.Equal(t, as[11:16], claimedIDs(claimCapped(t, s, now, 5, 5)))
	require.Equal(t, as[16:21], claimedIDs(claimCapped(t, s, now, 5, 100)))
}

func testClaimMaxPerWebhookPastBacklogs(t *testing.T, s webhooks.Store) {
	capped := createSimple(t, s, "capped", nil)
	off := createSimple(t, s, "off", nil)
	full := createSimple(t, s, "full", nil)
	leased := createSimple(t, s, "leased", nil)
	late := createSimple(t, s, "late", nil)
	cs := enqueueBacklog(t, s, "capped", capped, 40, Base)
	enqueueBacklog(t, s, "off", off, 40, at(time.Second))
	enqueueBacklog(t, s, "full", full, 40, at(2*time.Second))
	ls := enqueueBacklog(t, s, "leased", leased, 40, at(3*time.Second))
	lates := enqueueBacklog(t, s, "late", late, 3, at(time.Minute))
	require.NoError(t, s.SetWebhookActive(ctx, off, false, "paused", Base))

	// Lease leased's first 38.
	held := claimCapped(t, s, at(time.Hour), 38, 0, capped, full, late)
	require.Equal(t, ls[:38], claimedIDs(held))

	cl := claimCapped(t, s, at(time.Hour), 10, 2, full)
	require.Equal(t, concat(cs[:2], ls[38:], lates[:2]), claimedIDs(cl),
		"two each of the active, not excluded webhooks, past the disabled, excluded and leased backlogs")
}

func testClaimMaxPerWebhookZero(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	as := enqueueBacklog(t, s, "a", a, 30, Base)
	bs := enqueueBacklog(t, s, "b", b, 5, at(time.Minute))

	now := at(time.Hour)
	require.Equal(t, as[:20], claimedIDs(claimCapped(t, s, now, 20, 0)), "0: no cap, oldest due first")
	require.Equal(t, concat(as[20:], bs[:2]), claimedIDs(claimCapped(t, s, now, 12, -1)), "negative: no cap")
	require.Equal(t, bs[2:], claimedIDs(claimCapped(t, s, now, 12, 0)))
}

func testClaimBadLease(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)
	for _, lease := range []time.Duration{0, -time.Second} {
		cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: Base, Limit: 10, Lease: lease})
		require.Error(t, err, "lease %v", lease)
		require.ErrorIs(t, err, webhooks.ErrInvalid, "lease %v", lease)
		require.Empty(t, cl)
	}
	require.Equal(t, []int64{id}, claimedIDs(claim(t, s, Base, 10, time.Minute)), "nothing was leased")
}

// testClaimZeroNow uses the real clock: a zero Now is the current time.
func testClaimZeroNow(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	wall := time.Now().UTC()
	past := enqueueOne(t, s, "past", wall.Add(-time.Minute), h)
	enqueueOne(t, s, "future", wall.Add(time.Hour), h)

	before := time.Now()
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Limit: 10, Lease: time.Minute})
	after := time.Now()
	require.NoError(t, err)
	require.Equal(t, []int64{past}, claimedIDs(cl), "due by the current time, the future one not")
	lease := cl[0].LeaseUntil
	require.False(t, lease.Before(before.Add(time.Minute-Tolerance)), "LeaseUntil %s from before %s", lease, before)
	require.False(t, lease.After(after.Add(time.Minute+Tolerance)), "LeaseUntil %s from after %s", lease, after)
	require.Equal(t, time.UTC, lease.Location())
}

func testClaimOnlyDue(t *testing.T, s webhooks.Store) {
	require.Empty(t, claim(t, s, Base, 10, time.Minute), "empty store")
	h := createSimple(t, s, "h", nil)
	now := enqueueOne(t, s, "now", Base, h)
	later := enqueueOne(t, s, "later", at(time.Minute), h)

	require.Empty(t, claim(t, s, at(-time.Second), 10, time.Minute), "nothing due before CreatedAt")
	require.Equal(t, []int64{now}, claimedIDs(claim(t, s, at(30*time.Second), 10, time.Minute)))
	require.Equal(t, []int64{later}, claimedIDs(claim(t, s, at(time.Minute), 10, time.Minute)),
		"due exactly at NextAttemptAt")
	require.Empty(t, claim(t, s, at(80*time.Second), 10, time.Minute), "both under lease")
}

func testClaimOrder(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	// IDs ascend in enqueue order, due times do not.
	d3 := enqueueOne(t, s, "e3", at(3*time.Second), h)
	d1 := enqueueOne(t, s, "e1", at(1*time.Second), h)
	d2a := enqueueOne(t, s, "e2a", at(2*time.Second), h)
	d2b := enqueueOne(t, s, "e2b", at(2*time.Second), h)
	d0 := enqueueOne(t, s, "e0", Base, h)

	now := at(time.Minute)
	var order []int64
	for range 5 {
		cl := claim(t, s, now, 1, time.Hour)
		require.Len(t, cl, 1, "Limit 1")
		order = append(order, cl[0].Delivery.ID)
	}
	require.Equal(t, []int64{d0, d1, d2a, d2b, d3}, order, "oldest due first, then by ID")
	require.Empty(t, claim(t, s, now, 1, time.Hour))

	// Limit caps a larger batch.
	for i := range 6 {
		enqueueOne(t, s, fmt.Sprintf("more%d", i), Base, h)
	}
	require.Len(t, claim(t, s, now, 4, time.Hour), 4)
	require.Len(t, claim(t, s, now, 4, time.Hour), 2)
}

func testClaimExclude(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	c := createSimple(t, s, "c", nil)
	ids := enqueue(t, s, ev("evt", nil, Base, a, b, c))

	cl := claim(t, s, Base, 10, time.Minute, a, c)
	require.Equal(t, []int64{ids[1]}, claimedIDs(cl), "only webhook b's delivery")
	require.Equal(t, b, cl[0].Webhook.ID)
	cl = claim(t, s, Base, 10, time.Minute)
	require.ElementsMatch(t, []int64{ids[0], ids[2]}, claimedIDs(cl), "excluded ones are claimable later")
}

func testClaimInactive(t *testing.T, s webhooks.Store) {
	on := createSimple(t, s, "on", nil)
	off := createSimple(t, s, "off", nil)
	ids := enqueue(t, s, ev("evt", nil, Base, on, off))
	require.NoError(t, s.SetWebhookActive(ctx, off, false, "paused", Base))

	require.Equal(t, []int64{ids[0]}, claimedIDs(claim(t, s, Base, 10, time.Minute)))
	require.Empty(t, claim(t, s, at(time.Second), 10, time.Minute), "inactive webhook's delivery waits")
	d := getDelivery(t, s, ids[1])
	require.Equal(t, webhooks.StatusPending, d.Status, "a paused delivery stays PENDING")

	require.NoError(t, s.SetWebhookActive(ctx, off, true, "", at(2*time.Second)))
	cl := claim(t, s, at(2*time.Second), 10, time.Minute)
	require.Equal(t, []int64{ids[1]}, claimedIDs(cl), "claimed again after re-enable")
	require.True(t, cl[0].Webhook.IsActive)
}

func testClaimContents(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", company(8), "inspection.*")
	w.CustomHeaders = map[string]string{"X-Key": "v"}
	w.HTTPMethod = "PUT"
	h := create(t, s, w)
	created := at(5 * time.Second)
	// Valid JSON, as MarshalEvent produces, but in a shape a store that
	// re-encodes JSON would not keep.
	payload := []byte(`{"z": 1,  "a" : [ ],"u":"\u00e9é","n":1.50}`)
	e := ev("evt-c", company(8), created, h)
	e.EventType = "inspection.completed"
	e.Payload = payload
	id := enqueue(t, s, e)[0]

	now := at(10 * time.Second)
	cl := claim(t, s, now, 10, 45*time.Second)
	require.Len(t, cl, 1)
	c := cl[0]
	require.Positive(t, c.Token)
	requireTime(t, now.Add(45*time.Second), c.LeaseUntil, "LeaseUntil")
	require.Equal(t, payload, c.Payload, "payload bytes returned verbatim")

	require.Equal(t, id, c.Delivery.ID)
	require.Equal(t, "evt-c", c.Delivery.EventID)
	require.Equal(t, "inspection.completed", c.Delivery.EventType)
	require.Equal(t, h, c.Delivery.WebhookID)
	requireSameInt64Ptr(t, company(8), c.Delivery.CompanyID, "Delivery.CompanyID")
	require.Equal(t, webhooks.StatusPending, c.Delivery.Status)
	require.Zero(t, c.Delivery.AttemptCount)
	require.Empty(t, c.Delivery.Attempts)
	requireTime(t, created, c.Delivery.CreatedAt, "Delivery.CreatedAt")
	requireTime(t, created, c.Delivery.NextAttemptAt, "Delivery.NextAttemptAt")

	require.NotNil(t, c.Webhook)
	requireWebhook(t, getWebhook(t, s, h), c.Webhook)
	require.Equal(t, "whsec_h-0123456789abcdef", c.Webhook.Secret, "webhook comes with its secret")
}

func testClaimExclusive(t *testing.T, s webhooks.Store) {
	const (
		n          = 200
		goroutines = 8
		batch      = 7
	)
	var hooks []int64
	for i := range 4 {
		hooks = append(hooks, createSimple(t, s, fmt.Sprintf("h%d", i), nil))
	}
	var evs []webhooks.EnqueueEvent
	for i := range n / len(hooks) {
		evs = append(evs, ev(fmt.Sprintf("evt-%03d", i), nil, at(time.Duration(i)*time.Millisecond), hooks...))
	}
	res, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	want := map[int64]bool{}
	for _, r := range res {
		for _, d := range r.Deliveries {
			want[d.ID] = true
		}
	}
	require.Len(t, want, n)

	now := at(time.Hour)
	got := make([][]int64, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			// A correct store runs dry after n/batch claims in all; the
			// bound turns a store that hands deliveries out twice into a
			// failure instead of a hang.
			for range n + 1 {
				cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: batch, Lease: time.Hour})
				if err != nil {
					errs[g] = err
					return
				}
				if len(cl) > batch {
					errs[g] = fmt.Errorf("claimed %d deliveries with Limit %d", len(cl), batch)
					return
				}
				if len(cl) == 0 {
					return
				}
				for _, c := range cl {
					got[g] = append(got[g], c.Delivery.ID)
				}
			}
			errs[g] = fmt.Errorf("still claiming after %d calls", n+1)
		}()
	}
	close(start)
	wg.Wait()
	for g, err := range errs {
		require.NoError(t, err, "goroutine %d", g)
	}
	seen := map[int64]int{}
	for _, ids := range got {
		for _, id := range ids {
			seen[id]++
		}
	}
	for id, k := range seen {
		require.Equal(t, 1, k, "delivery %d claimed %d times", id, k)
		require.True(t, want[id], "claimed unknown delivery %d", id)
	}
	require.Len(t, seen, n, "every delivery claimed")
	require.Empty(t, claim(t, s, now, 100, time.Hour), "nothing left")
}

func testLeaseExpiry(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)

	first := claim(t, s, Base, 10, 30*time.Second)
	require.Equal(t, []int64{id}, claimedIDs(first))
	requireTime(t, at(30*time.Second), first[0].LeaseUntil, "LeaseUntil")

	require.Empty(t, claim(t, s, at(10*time.Second), 10, 30*time.Second), "lease still held")

	again := claim(t, s, at(31*time.Second), 10, 30*time.Second)
	require.Equal(t, []int64{id}, claimedIDs(again), "reclaimed after the lease lapsed")
	require.Greater(t, again[0].Token, first[0].Token, "a reclaim gets a newer token")
	requireTime(t, at(61*time.Second), again[0].LeaseUntil, "new LeaseUntil")
	require.Equal(t, webhooks.StatusPending, again[0].Delivery.Status)
	require.Zero(t, again[0].Delivery.AttemptCount, "an expired lease is not an attempt")

	require.Empty(t, claim(t, s, at(40*time.Second), 10, 30*time.Second), "held by the new claim")
}

func testFencing(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", nil, "*")
	w.AutoDisableAfterFailures = 1
	h := create(t, s, w)
	id := enqueueOne(t, s, "evt", Base, h)

	old := claim(t, s, Base, 10, 30*time.Second)[0]
	cur := claim(t, s, at(31*time.Second), 10, 30*time.Second)[0]
	require.NotEqual(t, old.Token, cur.Token)

	staleC := completion(old, webhooks.StatusFailed, at(35*time.Second))
	staleC.DisableWebhook = "410 Gone"
	res := complete(t, s, staleC)
	require.Equal(t, []int64{id}, res.Stale, "the old token is stale")
	require.Empty(t, res.Disabled, "a stale completion disables nothing")

	d := getDelivery(t, s, id)
	require.Equal(t, webhooks.StatusPending, d.Status, "status unchanged")
	require.Zero(t, d.AttemptCount)
	require.Empty(t, d.Attempts, "no attempt recorded")
	requireTime(t, Base, d.UpdatedAt, "UpdatedAt unchanged")
	wh := getWebhook(t, s, h)
	require.True(t, wh.IsActive)
	require.Zero(t, wh.ConsecutiveFailures, "health unchanged")

	res = completeOK(t, s, completion(cur, webhooks.StatusSuccess, at(36*time.Second)))
	require.Empty(t, res.Disabled)
	d = getDelivery(t, s, id)
	require.Equal(t, webhooks.StatusSuccess, d.Status)
	require.Equal(t, 1, d.AttemptCount)
	require.Len(t, d.Attempts, 1)

	// A token that was never issued is stale too.
	id2 := enqueueOne(t, s, "evt2", Base, h)
	c2 := claim(t, s, at(40*time.Second), 10, time.Minute)[0]
	bogus := completion(c2, webhooks.StatusSuccess, at(41*time.Second))
	bogus.Token = c2.Token + 1000
	require.Equal(t, []int64{id2}, complete(t, s, bogus).Stale)
	require.Equal(t, webhooks.StatusPending, getDelivery(t, s, id2).Status)
}

func testCompleteTwice(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)
	c := claimOne(t, s, Base, id)
	completeOK(t, s, completion(c, webhooks.StatusRetrying, at(time.Second)))

	res := complete(t, s, completion(c, webhooks.StatusSuccess, at(2*time.Second)))
	require.Equal(t, []int64{id}, res.Stale, "a claim completes once")
	d := getDelivery(t, s, id)
	require.Equal(t, webhooks.StatusRetrying, d.Status)
	require.Equal(t, 1, d.AttemptCount)
	require.Len(t, d.Attempts, 1)

	// The next claim (once due) gets a fresh token that works.
	next := claimOne(t, s, at(2*time.Minute), id)
	require.Greater(t, next.Token, c.Token)
	completeOK(t, s, completion(next, webhooks.StatusSuccess, at(2*time.Minute)))
	require.Equal(t, webhooks.StatusSuccess, getDelivery(t, s, id).Status)
}

func testRelease(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	ids := []int64{
		enqueueOne(t, s, "r1", Base, h),
		enqueueOne(t, s, "r2", Base, h),
		enqueueOne(t, s, "r3", Base, h),
	}
	held := claim(t, s, Base, 10, time.Hour)
	require.Len(t, held, 3)
	stale := webhooks.ClaimRef{DeliveryID: held[2].Delivery.ID, Token: held[2].Token + 7}
	require.NoError(t, s.Release(t.Context(), []webhooks.ClaimRef{
		{DeliveryID: held[0].Delivery.ID, Token: held[0].Token},
		{DeliveryID: held[1].Delivery.ID, Token: held[1].Token},
		stale,
		{DeliveryID: 987654, Token: 1},
	}))
	require.NoError(t, s.Release(t.Context(), nil))

	again := claim(t, s, at(time.Second), 10, time.Hour)
	require.ElementsMatch(t, []int64{ids[0], ids[1]}, claimedIDs(again), "released claims are due at once; the stale ref changed nothing")
	before := map[int64]int64{}
	for _, c := range held {
		before[c.Delivery.ID] = c.Token
	}
	for _, c := range again {
		require.Greater(t, c.Token, before[c.Delivery.ID], "a new claim gets a new token")
		d := getDelivery(t, s, c.Delivery.ID)
		require.Equal(t, webhooks.StatusPending, d.Status, "no attempt: status unchanged")
		require.Zero(t, d.AttemptCount)
		require.Empty(t, d.Attempts)
	}
	res := complete(t, s, completion(held[0], webhooks.StatusSuccess, at(2*time.Second)))
	require.Equal(t, []int64{ids[0]}, res.Stale, "a released claim cannot complete")

	// Releasing a completed claim does nothing.
	completeOK(t, s, completion(held[2], webhooks.StatusSuccess, at(3*time.Second)))
	require.NoError(t, s.Release(t.Context(), []webhooks.ClaimRef{{DeliveryID: held[2].Delivery.ID, Token: held[2].Token}}))
	require.Equal(t, webhooks.StatusSuccess, getDelivery(t, s, ids[2]).Status)
	require.Empty(t, claim(t, s, at(4*time.Second), 10, time.Hour, h+1000), "nothing else due")
}
