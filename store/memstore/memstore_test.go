package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	webhooks "github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/memstore"
	"github.com/webhookkit/webhooks/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) webhooks.Store { return memstore.New() })
}

func TestStoreIsNotTxStore(t *testing.T) {
	var s webhooks.Store = memstore.New()
	_, ok := s.(webhooks.TxStore)
	require.False(t, ok)
}

func TestZeroLimitMeansUnlimited(t *testing.T) {
	s := memstore.New()
	for i := range 30 {
		w := &webhooks.Webhook{Name: fmt.Sprint(i), CompanyID: webhooks.Ptr(int64(1)), IsActive: true}
		require.NoError(t, s.CreateWebhook(context.Background(), w, 0))
		require.Equal(t, int64(i+1), w.ID, "IDs count from 1")
	}
}

func TestCreateFillsZeroTimes(t *testing.T) {
	s := memstore.New()
	w := &webhooks.Webhook{Name: "x", IsActive: true}
	before := time.Now()
	require.NoError(t, s.CreateWebhook(context.Background(), w, 0))
	require.False(t, w.CreatedAt.Before(before.Add(-time.Second)))
	require.Equal(t, w.CreatedAt, w.UpdatedAt)
	got, err := s.GetWebhook(context.Background(), w.ID)
	require.NoError(t, err)
	require.True(t, got.CreatedAt.Equal(w.CreatedAt))
	require.Equal(t, time.UTC, got.CreatedAt.Location())
}

func TestListDeliveriesDefaultAndMaxLimit(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	w := &webhooks.Webhook{Name: "x", IsActive: true, Events: []string{"*"}}
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	evs := make([]webhooks.EnqueueEvent, 1100)
	for i := range evs {
		evs[i] = webhooks.EnqueueEvent{EventID: fmt.Sprint(i), EventType: "a.b", WebhookIDs: []int64{w.ID}, CreatedAt: storetest.Base}
	}
	_, err := s.Enqueue(ctx, evs)
	require.NoError(t, err)
	ds, err := s.ListDeliveries(ctx, webhooks.ListDeliveriesParams{})
	require.NoError(t, err)
	require.Len(t, ds, memstore.DefaultListLimit)
	ds, err = s.ListDeliveries(ctx, webhooks.ListDeliveriesParams{Limit: 5000})
	require.NoError(t, err)
	require.Len(t, ds, memstore.MaxListLimit)
	require.Equal(t, int64(1100), ds[0].ID)
}

func TestClaimZeroLimitClaimsNothing(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	w := &webhooks.Webhook{Name: "x", IsActive: true}
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	_, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: "e", WebhookIDs: []int64{w.ID}, CreatedAt: storetest.Base}})
	require.NoError(t, err)
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: storetest.Base, Limit: 0, Lease: time.Minute})
	require.NoError(t, err)
	require.Empty(t, cl)
}

func TestCompleteRejectsInvalidStatusAtomically(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	w := &webhooks.Webhook{Name: "x", IsActive: true}
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{
		{EventID: "e1", WebhookIDs: []int64{w.ID}, CreatedAt: storetest.Base, Lease: time.Minute},
		{EventID: "e2", WebhookIDs: []int64{w.ID}, CreatedAt: storetest.Base, Lease: time.Minute},
	})
	require.NoError(t, err)
	d1, d2 := res[0].Deliveries[0], res[1].Deliveries[0]
	_, err = s.Complete(ctx, []webhooks.Completion{
		{DeliveryID: d1.ID, Token: d1.Token, Status: webhooks.StatusSuccess, Now: storetest.Base},
		{DeliveryID: d2.ID, Token: d2.Token, Status: webhooks.StatusPending, Now: storetest.Base},
	})
	require.True(t, errors.Is(err, webhooks.ErrInvalid), "got %v", err)
	got, err := s.GetDelivery(ctx, d1.ID)
	require.NoError(t, err)
	require.Equal(t, webhooks.StatusPending, got.Status, "nothing applied")
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := memstore.New()
	_, err := s.ListWebhooks(ctx, webhooks.ListWebhooksParams{})
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorContains(t, err, "memstore: ")
}

func TestEnqueueRejectsEmptyEventID(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	w := &webhooks.Webhook{Name: "x", IsActive: true}
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	_, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{
		{EventID: "ok", WebhookIDs: []int64{w.ID}, CreatedAt: storetest.Base},
		{EventID: "", WebhookIDs: []int64{w.ID}, CreatedAt: storetest.Base},
	})
	require.ErrorIs(t, err, webhooks.ErrInvalid)
	ds, err := s.ListDeliveries(ctx, webhooks.ListDeliveriesParams{})
	require.NoError(t, err)
	require.Empty(t, ds, "nothing stored")
}

func TestEnqueueListedTwiceGetsOneDelivery(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	w := &webhooks.Webhook{Name: "x", IsActive: true}
	require.NoError(t, s.CreateWebhook(ctx, w, 0))
	res, err := s.Enqueue(ctx, []webhooks.EnqueueEvent{{EventID: "e", WebhookIDs: []int64{w.ID, w.ID}, CreatedAt: storetest.Base}})
	require.NoError(t, err)
	require.Len(t, res[0].Deliveries, 1)
}

// BenchmarkClaimBacklog claims 100 with 200k due deliveries of one webhook
// and 10 of another, without and with MaxPerWebhook 8. Each claim scans the
// open deliveries once and keeps bounded heaps (no sort of the backlog).
func BenchmarkClaimBacklog(b *testing.B) {
	for _, perWebhook := range []int{0, 8} {
		b.Run(fmt.Sprint("MaxPerWebhook", perWebhook), func(b *testing.B) {
			ctx := context.Background()
			s := memstore.New()
			big := &webhooks.Webhook{Name: "big", IsActive: true}
			other := &webhooks.Webhook{Name: "other", IsActive: true}
			require.NoError(b, s.CreateWebhook(ctx, big, 0))
			require.NoError(b, s.CreateWebhook(ctx, other, 0))
			evs := make([]webhooks.EnqueueEvent, 200_010)
			for i := range evs {
				h, at := big.ID, storetest.Base.Add(time.Duration(i)*time.Microsecond)
				if i >= 200_000 {
					h, at = other.ID, storetest.Base.Add(time.Minute)
				}
				evs[i] = webhooks.EnqueueEvent{EventID: fmt.Sprint(i), WebhookIDs: []int64{h}, CreatedAt: at}
			}
			_, err := s.Enqueue(ctx, evs)
			require.NoError(b, err)
			now := storetest.Base.Add(time.Hour)
			for b.Loop() {
				now = now.Add(time.Second) // the last claim's 1 µs leases have lapsed
				cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: 100, Lease: time.Microsecond, MaxPerWebhook: perWebhook})
				if err != nil {
					b.Fatal(err)
				}
				if want := map[int]int{0: 100, 8: 16}[perWebhook]; len(cl) != want {
					b.Fatalf("claimed %d, want %d", len(cl), want)
				}
			}
		})
	}
}
