package storetest

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

func completeCases() []testCase {
	return []testCase{
		single("RetrySchedulingAndFinalFailure", testRetrySchedule),
		single("AttemptsRecorded", testAttemptsRecorded),
		single("AutoDisableAfterConsecutiveFailures", testAutoDisable),
		single("AutoDisableCounterResetBySuccess", testAutoDisableReset),
		single("AutoDisableZeroNeverDisables", testAutoDisableZero),
		single("CompletionDisableWebhook", testCompletionDisable),
		single("CompleteBatch", testCompleteBatch),
	}
}

func testRetrySchedule(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)
	now := at(10 * time.Second)
	c := claimOne(t, s, now, id)

	retry := completion(c, webhooks.StatusRetrying, now)
	retry.NextAttemptAt = now.Add(time.Minute)
	completeOK(t, s, retry)

	d := getDelivery(t, s, id)
	require.Equal(t, webhooks.StatusRetrying, d.Status)
	require.Equal(t, 1, d.AttemptCount)
	requireTime(t, now.Add(time.Minute), d.NextAttemptAt, "NextAttemptAt")
	requireTime(t, now, d.UpdatedAt, "UpdatedAt")

	require.Empty(t, claim(t, s, now.Add(59*time.Second), 10, time.Minute), "not due before NextAttemptAt")
	c2 := claim(t, s, now.Add(61*time.Second), 10, time.Minute)
	require.Equal(t, []int64{id}, claimedIDs(c2), "due after NextAttemptAt")
	require.Equal(t, webhooks.StatusRetrying, c2[0].Delivery.Status)
	require.Equal(t, 1, c2[0].Delivery.AttemptCount)

	completeOK(t, s, completion(c2[0], webhooks.StatusFailed, now.Add(62*time.Second)))
	d = getDelivery(t, s, id)
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, 2, d.AttemptCount)
	require.Empty(t, claim(t, s, now.Add(24*time.Hour), 10, time.Minute), "FAILED is final")

	// SUCCESS is final too.
	id2 := enqueueOne(t, s, "evt2", Base, h)
	completeOK(t, s, completion(claimOne(t, s, now, id2), webhooks.StatusSuccess, now))
	require.Empty(t, claim(t, s, now.Add(24*time.Hour), 10, time.Minute), "SUCCESS is final")
}

func testAttemptsRecorded(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)

	attempts := []webhooks.Attempt{
		{
			StartedAt:       at(1*time.Second + 500*time.Millisecond),
			RequestHeaders:  http.Header{"Content-Type": {"application/json"}, "X-Webhook-Signature": {"sha256=abc"}, "X-Multi": {"a", "b"}},
			ResponseStatus:  http.StatusServiceUnavailable,
			ResponseHeaders: http.Header{"Retry-After": {"120"}, "Set-Cookie": {"a=1", "b=2"}},
			ResponseBody:    "upstream down\n<html>ünïcode</html>",
			Duration:        1500 * time.Millisecond,
			Error:           "HTTP 503",
		},
		{
			StartedAt:      at(3 * time.Minute),
			RequestHeaders: http.Header{"Content-Type": {"application/json"}},
			Duration:       30 * time.Second,
			Error:          "timeout after 30s",
		},
		{
			StartedAt:       at(10 * time.Minute),
			RequestHeaders:  http.Header{"Content-Type": {"application/json"}},
			ResponseStatus:  http.StatusNoContent,
			ResponseHeaders: http.Header{"Date": {"Sun, 01 Feb 2026 12:10:00 GMT"}},
			Duration:        87 * time.Millisecond,
		},
	}
	statuses := []webhooks.DeliveryStatus{webhooks.StatusRetrying, webhooks.StatusRetrying, webhooks.StatusSuccess}
	nexts := []time.Time{at(2 * time.Minute), at(9 * time.Minute), {}}

	claimAt := Base
	for i, a := range attempts {
		c := claimOne(t, s, claimAt, id)
		a.Number = 99 // the store assigns numbers
		done := a.StartedAt.Add(a.Duration)
		completeOK(t, s, webhooks.Completion{
			DeliveryID: id, Token: c.Token, Attempt: a, Status: statuses[i], NextAttemptAt: nexts[i], Now: done,
		})
		d := getDelivery(t, s, id)
		require.Equal(t, i+1, d.AttemptCount)
		require.Len(t, d.Attempts, i+1)
		require.Equal(t, statuses[i], d.Status)
		require.Equal(t, a.ResponseStatus, d.ResponseStatus, "delivery shows the latest attempt's status")
		require.Equal(t, a.Error, d.ErrorMessage, "delivery shows the latest attempt's error")
		require.Equal(t, a.Duration, d.Duration, "delivery shows the latest attempt's duration")
		requireTime(t, done, d.UpdatedAt, "UpdatedAt")
		if statuses[i] == webhooks.StatusRetrying {
			requireTime(t, nexts[i], d.NextAttemptAt, "NextAttemptAt")
			claimAt = nexts[i]
		}
	}

	d := getDelivery(t, s, id)
	for i, a := range attempts {
		a.Number = i + 1
		requireAttempt(t, a, d.Attempts[i], i+1)
	}
	listed := listDeliveries(t, s, webhooks.ListDeliveriesParams{})
	require.Len(t, listed, 1)
	require.Empty(t, listed[0].Attempts, "ListDeliveries omits attempts")
	require.Equal(t, 3, listed[0].AttemptCount)
	require.Equal(t, http.StatusNoContent, listed[0].ResponseStatus)
}

// failN claims and fails n deliveries of webhook h one Complete call at a
// time, returning every Disabled entry reported.
func failN(t *testing.T, s webhooks.Store, h int64, prefix string, n int, now time.Time) []webhooks.DisabledWebhook {
	t.Helper()
	var disabled []webhooks.DisabledWebhook
	for i := range n {
		id := enqueueOne(t, s, fmt.Sprintf("%s-%d", prefix, i), now, h)
		c := claimOne(t, s, now, id)
		status := webhooks.StatusFailed
		if i%2 == 1 {
			status = webhooks.StatusRetrying // counts as a failure too
		}
		cp := completion(c, status, now)
		cp.NextAttemptAt = now.Add(24 * time.Hour) // out of the way of later claims
		disabled = append(disabled, completeOK(t, s, cp).Disabled...)
	}
	return disabled
}

func succeed(t *testing.T, s webhooks.Store, h int64, eventID string, now time.Time) webhooks.CompleteResult {
	t.Helper()
	id := enqueueOne(t, s, eventID, now, h)
	return completeOK(t, s, completion(claimOne(t, s, now, id), webhooks.StatusSuccess, now))
}

func testAutoDisable(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", company(1), "*")
	w.AutoDisableAfterFailures = 3
	h := create(t, s, w)
	other := createSimple(t, s, "other", company(1))

	// Four deliveries claimed up front: the fourth completes after the
	// webhook is already disabled.
	var ids []int64
	for i := range 4 {
		ids = append(ids, enqueueOne(t, s, fmt.Sprintf("evt-%d", i), Base, h))
	}
	cl := claim(t, s, Base, 10, time.Minute)
	require.Len(t, cl, 4)

	var disabled []webhooks.DisabledWebhook
	for i, c := range cl {
		res := completeOK(t, s, completion(c, webhooks.StatusFailed, at(time.Duration(i+1)*time.Second)))
		disabled = append(disabled, res.Disabled...)
		got := getWebhook(t, s, h)
		require.Equal(t, i+1, got.ConsecutiveFailures)
		if i < 2 {
			require.True(t, got.IsActive, "active after %d failures", i+1)
			require.Empty(t, res.Disabled)
		} else {
			require.False(t, got.IsActive, "inactive after %d failures", i+1)
		}
	}
	require.Equal(t, []webhooks.DisabledWebhook{{ID: h, Reason: webhooks.AutoDisableReason(3)}}, disabled,
		"listed exactly once, with AutoDisableReason")
	got := getWebhook(t, s, h)
	require.Equal(t, webhooks.AutoDisableReason(3), got.DisabledReason)
	require.True(t, getWebhook(t, s, other).IsActive, "other webhooks unaffected")
	require.Equal(t, []int64{other}, match(t, s, company(1), "unit.created"), "disabled webhook no longer matched")

	// Enabling resets the counter and the reason.
	require.NoError(t, s.SetWebhookActive(ctx, h, true, "", at(time.Minute)))
	got = getWebhook(t, s, h)
	require.True(t, got.IsActive)
	require.Zero(t, got.ConsecutiveFailures)
	require.Empty(t, got.DisabledReason)
	require.Empty(t, failN(t, s, h, "after", 2, at(2*time.Minute)), "counting starts again from 0")
	require.Equal(t, 2, getWebhook(t, s, h).ConsecutiveFailures)
	require.Len(t, failN(t, s, h, "third", 1, at(3*time.Minute)), 1)
}

func testAutoDisableReset(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", nil, "*")
	w.AutoDisableAfterFailures = 3
	h := create(t, s, w)

	require.Empty(t, failN(t, s, h, "a", 2, Base))
	require.Equal(t, 2, getWebhook(t, s, h).ConsecutiveFailures)
	require.Empty(t, succeed(t, s, h, "ok", at(time.Second)).Disabled)
	require.Zero(t, getWebhook(t, s, h).ConsecutiveFailures, "success resets the counter")
	require.Empty(t, failN(t, s, h, "b", 2, at(2*time.Second)))
	got := getWebhook(t, s, h)
	require.True(t, got.IsActive)
	require.Equal(t, 2, got.ConsecutiveFailures)
	require.Empty(t, got.DisabledReason)
}

func testAutoDisableZero(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", nil, "*")
	w.AutoDisableAfterFailures = 0
	h := create(t, s, w)
	require.Empty(t, failN(t, s, h, "f", 12, Base))
	got := getWebhook(t, s, h)
	require.True(t, got.IsActive, "0 means never")
	require.Equal(t, 12, got.ConsecutiveFailures, "failures are still counted")
}

func testCompletionDisable(t *testing.T, s webhooks.Store) {
	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)
	id2 := enqueueOne(t, s, "evt2", Base, h)
	cl := claim(t, s, Base, 1, time.Minute)
	require.Equal(t, []int64{id}, claimedIDs(cl))

	c := completion(cl[0], webhooks.StatusFailed, at(time.Second))
	c.Attempt.ResponseStatus = http.StatusGone
	c.Attempt.Error = "HTTP 410"
	c.DisableWebhook = "endpoint answered 410 Gone"
	res := completeOK(t, s, c)
	require.Equal(t, []webhooks.DisabledWebhook{{ID: h, Reason: "endpoint answered 410 Gone"}}, res.Disabled)

	got := getWebhook(t, s, h)
	require.False(t, got.IsActive)
	require.Equal(t, "endpoint answered 410 Gone", got.DisabledReason)
	d := getDelivery(t, s, id)
	require.Equal(t, webhooks.StatusFailed, d.Status)
	require.Equal(t, http.StatusGone, d.ResponseStatus)
	require.Empty(t, claim(t, s, at(time.Hour), 10, time.Minute), "the webhook's other deliveries wait")
	require.Equal(t, webhooks.StatusPending, getDelivery(t, s, id2).Status)
}

func testCompleteBatch(t *testing.T, s webhooks.Store) {
	w := newWebhook("h", nil, "*")
	w.AutoDisableAfterFailures = 0
	h := create(t, s, w)
	var evs []webhooks.EnqueueEvent
	for i := range 50 {
		evs = append(evs, ev(fmt.Sprintf("evt-%02d", i), nil, Base, h))
	}
	_, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	cl := claim(t, s, Base, 50, time.Minute)
	require.Len(t, cl, 50)

	now := at(time.Second)
	var cs []webhooks.Completion
	want := map[int64]webhooks.DeliveryStatus{}
	for i, c := range cl {
		st := webhooks.StatusSuccess
		if i%2 == 1 {
			st = webhooks.StatusRetrying
		}
		want[c.Delivery.ID] = st
		cs = append(cs, completion(c, st, now))
	}
	// One stale entry in the middle does not spoil the rest.
	bad := completion(cl[0], webhooks.StatusFailed, now)
	bad.Token += 1000
	cs = append(cs[:25], append([]webhooks.Completion{bad}, cs[25:]...)...)

	res := complete(t, s, cs...)
	require.Equal(t, []int64{cl[0].Delivery.ID}, res.Stale)
	for id, st := range want {
		d := getDelivery(t, s, id)
		require.Equal(t, st, d.Status, "delivery %d", id)
		require.Equal(t, 1, d.AttemptCount, "delivery %d", id)
		require.Len(t, d.Attempts, 1, "delivery %d", id)
	}
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Status: webhooks.StatusSuccess, Limit: 100}), 25)
	require.Len(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{Status: webhooks.StatusRetrying, Limit: 100}), 25)
}
