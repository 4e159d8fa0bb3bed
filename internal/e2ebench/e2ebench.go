// Package e2ebench is the end-to-end benchmark every store runs: 8
// goroutines emit b.N events (about 1 KiB each) to 4 subscribed local
// endpoints; it reports deliveries/s from the first emit to the last 2xx
// received, emits/s, and Emit p50/p99 latency.
package e2ebench

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/transport/sender"
)

// Run benchmarks a dispatcher on st, which must be empty.
func Run(b *testing.B, st webhooks.Store) {
	const endpoints, emitters = 4, 8
	var got atomic.Int64
	done := make(chan struct{})
	want := int64(b.N * endpoints)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if got.Add(1) == want {
			close(done)
		}
	}))
	defer srv.Close()
	reg := webhooks.MustNewRegistry(webhooks.EventType{Name: "order.created"})
	d, err := webhooks.New(webhooks.Config{Registry: reg, Store: st, RateLimit: 1e6,
		Logger: slog.New(slog.DiscardHandler),
		Sender: sender.New(&sender.Options{AllowPrivateNetworks: true})}) // loopback receivers
	if err != nil {
		b.Fatal(err)
	}
	for i := range endpoints {
		url := srv.URL + "/" + string(rune('a'+i))
		if _, err := d.CreateWebhook(b.Context(), "", webhooks.WebhookInput{Name: &url, URL: &url, Events: []string{"*"}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer d.Stop(b.Context())
	attrs := map[string]any{"blob": string(make([]byte, 900))} // ~1 KiB payloads

	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	var next atomic.Int64
	b.ResetTimer()
	began := time.Now()
	var wg sync.WaitGroup
	for range emitters {
		wg.Go(func() {
			mine := make([]time.Duration, 0, b.N/emitters+1)
			for next.Add(1) <= int64(b.N) {
				t0 := time.Now()
				if err := d.Emit(b.Context(), webhooks.Event{Type: "order.created", Data: webhooks.EventData{ID: 1, Type: "Order", Attributes: attrs}}); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	emitDone := time.Since(began)
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d deliveries arrived", got.Load(), want)
	}
	elapsed := time.Since(began)
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(b.N)/emitDone.Seconds(), "emits/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "emit-p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "emit-p99-µs")
}
