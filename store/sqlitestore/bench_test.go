package sqlitestore_test

import (
	"database/sql"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
)

const benchBatch = 100

var benchPayload = []byte(`{"id":"x","type":"order.created","data":{"attributes":{"note":"` +
	strings.Repeat("a", 900) + `"}}}`)

// BenchmarkEnqueueClaimComplete measures the delivery pipeline: each
// iteration enqueues 100 events (one delivery each) in one call, claims
// them in one call and completes them in one call. It reports deliveries/s.
//
// Variants: Open with synchronous NORMAL (default) and FULL; New on a host
// *sql.DB with a default-sized pool, to compare the single write connection
// with a pool of writers; and the parallel forms, where GOMAXPROCS
// goroutines run the pipeline on one store at once.
func BenchmarkEnqueueClaimComplete(b *testing.B) {
	stores := []struct {
		name string
		open func(b *testing.B) *sqlitestore.Store
	}{
		{"Open-NORMAL", func(b *testing.B) *sqlitestore.Store { return openStore(b, tempPath(b)) }},
		{"Open-FULL", func(b *testing.B) *sqlitestore.Store {
			s, err := sqlitestore.Open(ctx, tempPath(b), &sqlitestore.Options{Synchronous: "FULL"})
			require.NoError(b, err)
			b.Cleanup(func() { _ = s.Close() })
			return s
		}},
		{"New-pool", func(b *testing.B) *sqlitestore.Store {
			db, err := sql.Open(sqlitestore.DriverName, recommendedDSN(tempPath(b)))
			require.NoError(b, err)
			b.Cleanup(func() { _ = db.Close() })
			s, err := sqlitestore.New(ctx, db, nil)
			require.NoError(b, err)
			return s
		}},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			h := createHook(b, s, "bench")
			var seq atomic.Int64
			b.ResetTimer()
			for b.Loop() {
				if err := pipeline(s, h, &seq); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
		})
		b.Run(st.name+"-parallel", func(b *testing.B) {
			s := st.open(b)
			h := createHook(b, s, "bench")
			var seq atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := pipeline(s, h, &seq); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// pipeline enqueues benchBatch deliveries, then claims and completes up to
// benchBatch due ones (in the parallel runs, not necessarily its own).
func pipeline(s *sqlitestore.Store, h int64, seq *atomic.Int64) error {
	now := time.Now()
	evs := make([]webhooks.EnqueueEvent, benchBatch)
	for i := range evs {
		evs[i] = webhooks.EnqueueEvent{
			EventID: fmt.Sprint("evt-", seq.Add(1)), EventType: "order.created",
			Payload: benchPayload, CreatedAt: now, WebhookIDs: []int64{h},
		}
	}
	if _, err := s.Enqueue(ctx, evs); err != nil {
		return err
	}
	cl, err := s.Claim(ctx, webhooks.ClaimParams{Now: now, Limit: benchBatch, Lease: time.Minute})
	if err != nil {
		return err
	}
	cs := make([]webhooks.Completion, len(cl))
	for i, c := range cl {
		cs[i] = webhooks.Completion{
			DeliveryID: c.Delivery.ID, Token: c.Token, Status: webhooks.StatusSuccess, Now: now,
			Attempt: webhooks.Attempt{
				StartedAt: now, ResponseStatus: 200, Duration: 20 * time.Millisecond,
				RequestHeaders:  map[string][]string{"Content-Type": {"application/json"}, "Webhook-Signature": {"v1,abc"}},
				ResponseHeaders: map[string][]string{"Content-Length": {"2"}},
				ResponseBody:    "ok",
			},
		}
	}
	res, err := s.Complete(ctx, cs)
	if err != nil {
		return err
	}
	if len(res.Stale) > 0 {
		return fmt.Errorf("stale: %v", res.Stale)
	}
	return nil
}
