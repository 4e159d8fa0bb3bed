package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
)

func lifecycleCases() []testCase {
	return []testCase{
		single("DeleteWebhookRemovesDeliveries", testDeleteRemovesDeliveries),
		{"IsolationBetweenClientStores", testIsolation},
		single("NotFoundErrors", testNotFound),
	}
}

func testDeleteRemovesDeliveries(t *testing.T, s webhooks.Store) {
	a := createSimple(t, s, "a", nil)
	b := createSimple(t, s, "b", nil)
	both := enqueue(t, s, ev("evt", nil, Base, a, b))
	inflight := enqueueOne(t, s, "inflight", Base, a)
	finished := enqueueOne(t, s, "finished", Base, a)

	cl := claim(t, s, Base, 10, time.Minute)
	require.Len(t, cl, 4)
	var inflightClaim, finishedClaim *webhooks.ClaimedDelivery
	for _, c := range cl {
		switch c.Delivery.ID {
		case inflight:
			inflightClaim = c
		case finished:
			finishedClaim = c
		}
	}
	require.NotNil(t, inflightClaim)
	completeOK(t, s, completion(finishedClaim, webhooks.StatusFailed, at(time.Second)))
	// Release b's delivery again so it is claimable below.
	for _, c := range cl {
		if c.Delivery.ID == both[1] {
			r := completion(c, webhooks.StatusRetrying, at(time.Second))
			r.NextAttemptAt = at(time.Second)
			completeOK(t, s, r)
		}
	}

	require.NoError(t, s.DeleteWebhook(ctx, a))
	for _, id := range []int64{both[0], inflight, finished} {
		_, err := s.GetDelivery(ctx, id)
		requireNotFound(t, err, "delivery of the deleted webhook")
	}
	getDelivery(t, s, both[1])
	require.Empty(t, listDeliveries(t, s, webhooks.ListDeliveriesParams{WebhookID: a, Limit: 100}))
	require.Equal(t, []int64{both[1]}, deliveryIDs(listDeliveries(t, s, webhooks.ListDeliveriesParams{Limit: 100})))

	got := claim(t, s, at(2*time.Hour), 10, time.Minute)
	require.Equal(t, []int64{both[1]}, claimedIDs(got), "deleted webhook's deliveries are never claimed")

	res, err := s.Complete(ctx, []webhooks.Completion{completion(inflightClaim, webhooks.StatusSuccess, at(2*time.Second))})
	require.NoError(t, err, "completing a deleted delivery is not an error")
	require.Equal(t, []int64{inflight}, res.Stale, "a deleted delivery's completion is stale")
	require.Empty(t, res.Disabled)

	res2, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{ev("later", nil, at(3*time.Hour), a)})
	require.NoError(t, err)
	require.Empty(t, res2[0].Deliveries, "no deliveries for a deleted webhook")
}

func testIsolation(t *testing.T, newStore func(t *testing.T) webhooks.Store) {
	s1 := newStore(t)
	s2 := newStore(t)

	sys1 := create(t, s1, newWebhook("client1-sys", nil, "*"))
	c1 := create(t, s1, newWebhook("client1-co", company(1), "*"))
	ids1 := enqueue(t, s1, ev("evt-shared", company(1), Base, sys1, c1))

	require.Empty(t, listWebhooks(t, s2, webhooks.ListWebhooksParams{}))
	require.Empty(t, listWebhooks(t, s2, webhooks.ListWebhooksParams{CompanyID: company(1)}))
	require.Empty(t, match(t, s2, company(1), "inspection.created"))
	require.Empty(t, match(t, s2, nil, "inspection.created"))
	require.Empty(t, listDeliveries(t, s2, webhooks.ListDeliveriesParams{Limit: 100}))
	require.Empty(t, claim(t, s2, at(time.Hour), 100, time.Minute))
	_, err := s2.GetWebhook(ctx, sys1)
	requireNotFound(t, err, "other client's webhook")
	_, err = s2.GetDelivery(ctx, ids1[0])
	requireNotFound(t, err, "other client's delivery")

	// The second client has its own webhooks, events and deliveries; IDs
	// may coincide with the first client's.
	sys2 := create(t, s2, newWebhook("client2-sys", nil, "*"))
	res, err := s2.Enqueue(ctx, []webhooks.EnqueueEvent{ev("evt-shared", company(1), Base, sys2)})
	require.NoError(t, err)
	require.False(t, res[0].Duplicate, "event IDs are per client")
	require.Len(t, res[0].Deliveries, 1)
	id2 := res[0].Deliveries[0].ID

	require.Len(t, listWebhooks(t, s1, webhooks.ListWebhooksParams{}), 2)
	require.Equal(t, []int64{sys2}, webhookIDs(listWebhooks(t, s2, webhooks.ListWebhooksParams{})))
	require.Equal(t, []int64{sys1, c1}, match(t, s1, company(1), "inspection.created"))
	require.Equal(t, []int64{sys2}, match(t, s2, company(1), "inspection.created"))
	require.Len(t, listDeliveries(t, s1, webhooks.ListDeliveriesParams{Limit: 100}), 2)
	require.Equal(t, []int64{id2}, deliveryIDs(listDeliveries(t, s2, webhooks.ListDeliveriesParams{Limit: 100})))

	cl1 := claim(t, s1, at(time.Minute), 100, time.Minute)
	require.ElementsMatch(t, ids1, claimedIDs(cl1))
	for _, c := range cl1 {
		require.Contains(t, []string{"client1-sys", "client1-co"}, c.Webhook.Name)
	}
	cl2 := claim(t, s2, at(time.Minute), 100, time.Minute)
	require.Equal(t, []int64{id2}, claimedIDs(cl2), "the first client's claims do not hold the second's")
	require.Equal(t, "client2-sys", cl2[0].Webhook.Name)

	// Completing and purging in one store leaves the other alone.
	for _, c := range cl1 {
		completeOK(t, s1, completion(c, webhooks.StatusSuccess, at(time.Minute)))
	}
	d2 := getDelivery(t, s2, id2)
	require.Equal(t, webhooks.StatusPending, d2.Status)
	require.Zero(t, d2.AttemptCount)
	n, err := s1.Purge(ctx, at(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(2), n)
	getDelivery(t, s2, id2)
	require.NoError(t, s1.DeleteWebhook(ctx, sys1))
	require.Equal(t, "client2-sys", getWebhook(t, s2, sys2).Name)
}

func testNotFound(t *testing.T, s webhooks.Store) {
	_, err := s.GetWebhook(ctx, 1)
	requireNotFound(t, err, "GetWebhook on an empty store")
	_, err = s.GetDelivery(ctx, 1)
	requireNotFound(t, err, "GetDelivery on an empty store")

	h := createSimple(t, s, "h", nil)
	id := enqueueOne(t, s, "evt", Base, h)
	_, err = s.GetWebhook(ctx, h+1000)
	requireNotFound(t, err, "GetWebhook of a missing ID")
	_, err = s.GetWebhook(ctx, 0)
	requireNotFound(t, err, "GetWebhook(0)")
	_, err = s.GetWebhook(ctx, -1)
	requireNotFound(t, err, "GetWebhook(-1)")
	_, err = s.GetDelivery(ctx, id+1000)
	requireNotFound(t, err, "GetDelivery of a missing ID")
	_, err = s.GetDelivery(ctx, 0)
	requireNotFound(t, err, "GetDelivery(0)")
}
