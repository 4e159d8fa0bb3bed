package redisstore_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/redisstore"
)

var benchPayload = []byte(`{"id":"x","type":"order.created","data":{"attributes":{"note":"` +
	strings.Repeat("a", 900) + `"}}}`)

// BenchmarkEnqueueClaimComplete measures the store alone, as the
// sqlitestore benchmark of the same name: each iteration enqueues 100
// events (one delivery each, ~1 KiB payloads) in one call, claims them in
// one call and completes them in one call. It reports deliveries/s.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	st := newStore(b, newClient(b), "")
	h := &webhooks.Webhook{Name: "bench", URL: "https://example.com/h", Events: []string{"*"}, IsActive: true}
	if err := st.CreateWebhook(b.Context(), h, 0); err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	for b.Loop() {
		if err := pipeline(b, st, h.ID, &seq); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*100)/b.Elapsed().Seconds(), "deliveries/s")
}

func pipeline(b *testing.B, s *redisstore.Store, h int64, seq *atomic.Int64) error {
	now := time.Now()
	evs := make([]webhooks.EnqueueEvent, 100)
	for i := range evs {
		evs[i] = webhooks.EnqueueEvent{EventID: fmt.Sprint("evt-", seq.Add(1)), EventType: "order.created",
			Payload: benchPayload, CreatedAt: now, WebhookIDs: []int64{h}}
	}
	if _, err := s.Enqueue(b.Context(), evs); err != nil {
		return err
	}
	cl, err := s.Claim(b.Context(), webhooks.ClaimParams{Now: now, Limit: 100, Lease: time.Minute})
	if err != nil {
		return err
	}
	cs := make([]webhooks.Completion, len(cl))
	for i, c := range cl {
		cs[i] = webhooks.Completion{DeliveryID: c.Delivery.ID, Token: c.Token, Status: webhooks.StatusSuccess, Now: now,
			Attempt: webhooks.Attempt{StartedAt: now, ResponseStatus: 200, Duration: 20 * time.Millisecond,
				RequestHeaders:  map[string][]string{"Content-Type": {"application/json"}, "Webhook-Signature": {"v1,abc"}},
				ResponseHeaders: map[string][]string{"Content-Length": {"2"}}, ResponseBody: "ok"}}
	}
	res, err := s.Complete(b.Context(), cs)
	if err != nil {
		return err
	}
	if len(res.Stale) > 0 {
		return fmt.Errorf("stale: %v", res.Stale)
	}
	return nil
}
