package redisstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/redisstore"
)

var base = time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)

func TestNewValidatesPrefix(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialled
	defer func() { _ = c.Close() }()
	for prefix, want := range map[string]string{
		"":                "{webhooks}:",
		"acme":            "{acme}:",
		"acme:prod":       "{acme:prod}:",
		"webhooks:{acme}": "webhooks:{acme}:",
		"{acme}":          "{acme}:",
		"a{b}c":           "a{b}c:",
	} {
		st, err := redisstore.New(c, &redisstore.Options{Prefix: prefix})
		require.NoError(t, err, "prefix %q", prefix)
		require.Equal(t, want, st.KeyPrefix(), "prefix %q", prefix)
		require.Equal(t, want+"wake", st.Channel())
	}
	st, err := redisstore.New(c, nil)
	require.NoError(t, err)
	require.Equal(t, "{webhooks}:", st.KeyPrefix(), "nil options: the default prefix")

	for _, prefix := range []string{"a b", "a*", "a?", "a[b]", `a\b`, "{}", "a{}b", "}a{", "{a}{b}", "{a", "a}", "é", "a\n", strings.Repeat("a", 201)} {
		_, err := redisstore.New(c, &redisstore.Options{Prefix: prefix})
		require.ErrorIs(t, err, webhooks.ErrInvalid, "prefix %q", prefix)
		require.True(t, strings.HasPrefix(err.Error(), "redisstore: "), err.Error())
	}
	_, err = redisstore.New(nil, nil)
	require.ErrorIs(t, err, webhooks.ErrInvalid)
}

func createHook(t *testing.T, st webhooks.Store, name string, company *int64) int64 {
	t.Helper()
	w := &webhooks.Webhook{Name: name, URL: "https://example.com/" + name, Events: []string{"*"}, IsActive: true,
		CompanyID: company, Secret: "whsec_" + name, CreatedAt: base, UpdatedAt: base, AutoDisableAfterFailures: 10}
	require.NoError(t, st.CreateWebhook(t.Context(), w, 0))
	return w.ID
}

func backlog(t *testing.T, st webhooks.Store, prefix string, hook int64, n int, at time.Time) []int64 {
	t.Helper()
	evs := make([]webhooks.EnqueueEvent, n)
	for i := range evs {
		evs[i] = webhooks.EnqueueEvent{EventID: fmt.Sprintf("%s-%05d", prefix, i), EventType: "order.created",
			Payload: []byte(`{}`), CreatedAt: at.Add(time.Duration(i) * time.Microsecond), WebhookIDs: []int64{hook}}
	}
	res, err := st.Enqueue(t.Context(), evs)
	require.NoError(t, err)
	ids := make([]int64, n)
	for i, r := range res {
		require.Len(t, r.Deliveries, 1)
		ids[i] = r.Deliveries[0].ID
	}
	return ids
}

// TestKeysStayUnderThePrefix: after a full workload every key holding the
// client's hash tag starts with the key prefix (so they share one Cluster
// slot), and other prefixes are untouched.
func TestKeysStayUnderThePrefix(t *testing.T) {
	c := newClient(t)
	tag := uniquePrefix()
	st := newStore(t, c, "app:{"+tag+"}")
	require.Equal(t, "app:{"+tag+"}:", st.KeyPrefix())
	a := createHook(t, st, "a", webhooks.Ptr[int64](1))
	b := createHook(t, st, "b", nil)
	ids := backlog(t, st, "e", a, 5, base)
	backlog(t, st, "f", b, 5, base)
	cl, err := st.Claim(t.Context(), webhooks.ClaimParams{Now: base.Add(time.Second), Limit: 4, Lease: time.Minute})
	require.NoError(t, err)
	_, err = st.Complete(t.Context(), []webhooks.Completion{{DeliveryID: cl[0].Delivery.ID, Token: cl[0].Token,
		Status: webhooks.StatusRetrying, NextAttemptAt: base.Add(time.Hour), Now: base.Add(time.Second)}})
	require.NoError(t, err)
	require.NoError(t, st.Release(t.Context(), []webhooks.ClaimRef{{DeliveryID: cl[1].Delivery.ID, Token: cl[1].Token}}))
	require.NoError(t, st.SetWebhookActive(t.Context(), a, false, "off", base))
	require.NoError(t, st.SetWebhookActive(t.Context(), a, true, "", base))
	require.NoError(t, st.RetryDelivery(t.Context(), cl[0].Delivery.ID, base))
	_, err = st.MatchWebhooks(t.Context(), webhooks.MatchParams{CompanyID: webhooks.Ptr[int64](1), EventType: "order.created"})
	require.NoError(t, err)
	_, err = st.ListDeliveries(t.Context(), webhooks.ListDeliveriesParams{WebhookID: a, Status: webhooks.StatusPending})
	require.NoError(t, err)
	require.NoError(t, st.DeleteWebhook(t.Context(), b))
	_, err = st.Purge(t.Context(), base.Add(time.Hour))
	require.NoError(t, err)
	_, err = st.GetDelivery(t.Context(), ids[4])
	require.ErrorIs(t, err, webhooks.ErrNotFound)

	keys, err := c.Keys(t.Context(), "*{"+tag+"}*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, st.KeyPrefix()), "key %q outside the prefix", k)
	}
}

// TestDisabledBacklogIsNotScanned: a disabled webhook's deliveries leave
// the claim queue's index; claims go straight to other webhooks' work, and
// enabling brings the backlog back.
func TestDisabledBacklogIsNotScanned(t *testing.T) {
	c := newClient(t)
	st := newStore(t, c, "")
	off := createHook(t, st, "off", nil)
	on := createHook(t, st, "on", nil)
	backlog(t, st, "off", off, 3000, base)
	later := backlog(t, st, "on", on, 3, base.Add(time.Minute))
	require.NoError(t, st.SetWebhookActive(t.Context(), off, false, "paused", base))
	ready := st.KeyPrefix() + "ready"
	_, err := c.ZScore(t.Context(), ready, fmt.Sprint(off)).Result()
	require.ErrorIs(t, err, redis.Nil, "a disabled webhook is not in the ready index")
	require.Equal(t, int64(3000), c.ZCard(t.Context(), st.KeyPrefix()+"due:"+fmt.Sprint(off)).Val(), "its backlog waits")

	cl, err := st.Claim(t.Context(), webhooks.ClaimParams{Now: base.Add(time.Hour), Limit: 10, Lease: time.Minute})
	require.NoError(t, err)
	got := make([]int64, len(cl))
	for i, x := range cl {
		got[i] = x.Delivery.ID
	}
	require.Equal(t, later, got)

	require.NoError(t, st.SetWebhookActive(t.Context(), off, true, "", base.Add(time.Hour)))
	score, err := c.ZScore(t.Context(), ready, fmt.Sprint(off)).Result()
	require.NoError(t, err)
	require.Equal(t, float64(base.UnixMicro()), score, "scored by its earliest due delivery")
	cl, err = st.Claim(t.Context(), webhooks.ClaimParams{Now: base.Add(time.Hour), Limit: 1000, Lease: time.Minute})
	require.NoError(t, err)
	require.Len(t, cl, 1000)
}

// TestBytesRoundTrip: payloads and response bodies that are not UTF-8 come
// back byte for byte.
func TestBytesRoundTrip(t *testing.T) {
	st := newStore(t, newClient(t), "")
	h := createHook(t, st, "h", nil)
	payload := make([]byte, 512)
	for i := range payload {
		payload[i] = byte(i)
	}
	res, err := st.Enqueue(t.Context(), []webhooks.EnqueueEvent{{EventID: "bin", EventType: "x.y", Payload: payload, CreatedAt: base, WebhookIDs: []int64{h}}})
	require.NoError(t, err)
	id := res[0].Deliveries[0].ID
	cl, err := st.Claim(t.Context(), webhooks.ClaimParams{Now: base, Limit: 1, Lease: time.Minute})
	require.NoError(t, err)
	require.Equal(t, payload, cl[0].Payload)

	body := "ok\xff\xfe\x00end"
	att := webhooks.Attempt{StartedAt: base, ResponseStatus: 200, ResponseBody: body,
		ResponseHeaders: http.Header{"X-A": {"1", "2"}}, Duration: 1234567 * time.Nanosecond}
	out, err := st.Complete(t.Context(), []webhooks.Completion{{DeliveryID: id, Token: cl[0].Token, Attempt: att, Status: webhooks.StatusSuccess, Now: base}})
	require.NoError(t, err)
	require.Empty(t, out.Stale)
	d, err := st.GetDelivery(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, body, d.Attempts[0].ResponseBody)
	require.Equal(t, att.Duration, d.Attempts[0].Duration, "durations keep nanoseconds")
	require.Equal(t, att.Duration, d.Duration)
}

// TestLapsedClaimCompletesUntilClaimedAgain: a claim whose lease lapsed
// can still complete while nobody else has claimed the delivery, even
// though a Claim call has returned it to its queue meanwhile.
func TestLapsedClaimCompletesUntilClaimedAgain(t *testing.T) {
	st := newStore(t, newClient(t), "")
	a := createHook(t, st, "a", nil)
	id := backlog(t, st, "e", a, 1, base)[0]
	cl, err := st.Claim(t.Context(), webhooks.ClaimParams{Now: base, Limit: 1, Lease: time.Minute})
	require.NoError(t, err)
	// A later claim that reclaims expired leases but skips the webhook.
	none, err := st.Claim(t.Context(), webhooks.ClaimParams{Now: base.Add(2 * time.Minute), Limit: 1, Lease: time.Minute, ExcludeWebhooks: []int64{a}})
	require.NoError(t, err)
	require.Empty(t, none)
	res, err := st.Complete(t.Context(), []webhooks.Completion{{DeliveryID: id, Token: cl[0].Token, Status: webhooks.StatusSuccess, Now: base.Add(2 * time.Minute)}})
	require.NoError(t, err)
	require.Empty(t, res.Stale)
	none, err = st.Claim(t.Context(), webhooks.ClaimParams{Now: base.Add(3 * time.Minute), Limit: 1, Lease: time.Minute})
	require.NoError(t, err)
	require.Empty(t, none, "a completed delivery leaves the queue")
}

// TestLargeDeleteAndPurge: deleting a webhook, and purging, go in batches
// beyond redisstore.Batch and leave no key behind.
func TestLargeDeleteAndPurge(t *testing.T) {
	c := newClient(t)
	st := newStore(t, c, "")
	n := redisstore.Batch*2 + 500
	gone := createHook(t, st, "gone", nil)
	kept := createHook(t, st, "kept", nil)
	backlog(t, st, "g", gone, n, base)
	keptIDs := backlog(t, st, "k", kept, n, base.Add(time.Minute))
	cl, err := st.Claim(t.Context(), webhooks.ClaimParams{Now: base.Add(time.Hour), Limit: 700, Lease: time.Minute, MaxPerWebhook: 350})
	require.NoError(t, err)
	require.Len(t, cl, 700)

	require.NoError(t, st.DeleteWebhook(t.Context(), gone))
	page, err := st.ListDeliveries(t.Context(), webhooks.ListDeliveriesParams{Limit: redisstore.MaxListLimit})
	require.NoError(t, err)
	require.Len(t, page, redisstore.MaxListLimit)
	for _, d := range page {
		require.Equal(t, kept, d.WebhookID)
	}
	require.Zero(t, c.Exists(t.Context(), st.KeyPrefix()+"trash:"+fmt.Sprint(gone), st.KeyPrefix()+"trash").Val())
	require.Equal(t, int64(n), c.ZCard(t.Context(), st.KeyPrefix()+"hist").Val())
	require.Equal(t, int64(2*n), c.ZCard(t.Context(), st.KeyPrefix()+"events").Val(), "events stay for idempotency")

	purged, err := st.Purge(t.Context(), base.Add(2*time.Minute))
	require.NoError(t, err)
	require.Equal(t, int64(n), purged)
	_, err = st.GetDelivery(t.Context(), keptIDs[0])
	require.ErrorIs(t, err, webhooks.ErrNotFound)
	keys, err := c.Keys(t.Context(), st.KeyPrefix()+"*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		rest := strings.TrimPrefix(k, st.KeyPrefix())
		require.Contains(t, []string{"seq:webhook", "seq:delivery", "webhooks", "sys", "sub:s:*", fmt.Sprintf("wh:%d", kept)}, rest,
			"only the webhooks' own keys are left, not %q", k)
	}
	require.NotContains(t, keys, st.KeyPrefix()+"ready")
}

// TestInterruptedDeleteIsHiddenAndFinishedByPurge: deliveries of a deleted
// webhook whose removal did not finish are invisible, and Purge removes
// them.
func TestInterruptedDeleteIsHiddenAndFinishedByPurge(t *testing.T) {
	c := newClient(t)
	st := newStore(t, c, "")
	a := createHook(t, st, "a", nil)
	b := createHook(t, st, "b", nil)
	ids := backlog(t, st, "a", a, 3, base)
	other := backlog(t, st, "b", b, 1, base)[0]
	// What delete_webhook.lua leaves when the process stops between batches.
	k := st.KeyPrefix()
	require.NoError(t, c.Del(t.Context(), k+fmt.Sprintf("wh:%d", a)).Err())
	require.NoError(t, c.Rename(t.Context(), k+fmt.Sprintf("hist:w:%d", a), k+fmt.Sprintf("trash:%d", a)).Err())
	require.NoError(t, c.SAdd(t.Context(), k+"trash", a).Err())

	for _, id := range ids {
		_, err := st.GetDelivery(t.Context(), id)
		require.ErrorIs(t, err, webhooks.ErrNotFound)
		require.ErrorIs(t, st.RetryDelivery(t.Context(), id, base), webhooks.ErrNotFound)
	}
	page, err := st.ListDeliveries(t.Context(), webhooks.ListDeliveriesParams{Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 1, "the orphans are skipped")
	require.Equal(t, other, page[0].ID)

	n, err := st.Purge(t.Context(), base.Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "nothing is old enough")
	require.Equal(t, int64(1), c.ZCard(t.Context(), k+"hist").Val(), "the orphans are gone")
	require.Zero(t, c.Exists(t.Context(), k+"trash", k+fmt.Sprintf("trash:%d", a), k+fmt.Sprintf("d:%d", ids[0])).Val())
}

func TestErrorsArePrefixed(t *testing.T) {
	st := newStore(t, newClient(t), "")
	for _, err := range []error{
		func() error { _, err := st.GetWebhook(t.Context(), 42); return err }(),
		func() error { _, err := st.GetDelivery(t.Context(), 42); return err }(),
		st.DeleteWebhook(t.Context(), 42),
		st.RetryDelivery(t.Context(), 42, base),
		func() error {
			_, err := st.Claim(t.Context(), webhooks.ClaimParams{Limit: 1})
			return err
		}(),
		func() error {
			_, err := st.Complete(t.Context(), []webhooks.Completion{{DeliveryID: 1, Status: "DONE"}})
			return err
		}(),
		func() error {
			_, err := st.Enqueue(t.Context(), []webhooks.EnqueueEvent{{}})
			return err
		}(),
	} {
		require.Error(t, err)
		require.True(t, strings.HasPrefix(err.Error(), "redisstore: "), err.Error())
		require.True(t, errors.Is(err, webhooks.ErrNotFound) || errors.Is(err, webhooks.ErrInvalid), err.Error())
	}
}
