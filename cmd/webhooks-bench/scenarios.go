package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/transport/sender"
)

const (
	eventType = "order.created"
	// maxEndpoints is DefaultLimits.MaxWebhooksPerCompany: the benchmark's
	// webhooks are all system-wide webhooks of one client.
	maxEndpoints = 20
	// rawSecret signs the raw ceiling's requests (the dispatcher's
	// webhooks get generated secrets of the same shape).
	rawSecret = "whsec_benchmarkbenchmarkbenchmark00"
)

// bench runs the scenarios on one store kind.
type bench struct {
	o    options
	be   backend
	logf func(string, ...any)
	logs *logCounter

	once  sync.Once
	reg   *webhooks.Registry
	attrs map[string]any // the events' attributes, sized for -payload
	body  []byte         // a TGM body of -payload bytes, for the raw ceiling
}

func (b *bench) init() {
	b.once.Do(func() {
		b.reg = webhooks.MustNewRegistry(webhooks.EventType{Name: eventType, Category: "Benchmark"})
		sample := func(blob string) *webhooks.Event {
			return &webhooks.Event{
				ID: webhooks.NewEventID(), Type: eventType, Time: time.Now().UTC(),
				Data: webhooks.EventData{ID: 123456, Type: "Order", Attributes: map[string]any{"blob": blob}},
			}
		}
		empty, err := webhooks.TGMEnvelope{}.Marshal(sample(""), 1234)
		if err != nil {
			panic(err)
		}
		// Printable filler: JSON escapes control bytes six-fold, so zero
		// bytes would make the body several times larger than asked.
		blob := strings.Repeat("x", max(0, b.o.Payload-len(empty)))
		b.attrs = map[string]any{"blob": blob}
		if b.body, err = (webhooks.TGMEnvelope{}).Marshal(sample(blob), 1234); err != nil {
			panic(err)
		}
	})
}

// storeRun is one pass over the scenarios.
type storeRun struct {
	Raw     *RawResult     `json:"raw,omitempty"`
	Steady  *SteadyResult  `json:"steady,omitempty"`
	Backlog *BacklogResult `json:"backlog,omitempty"`
	Hanging *HangingResult `json:"hanging,omitempty"`
	Fanout  *FanoutResult  `json:"fanout,omitempty"`
}

func (b *bench) want(s string) bool { return slices.Contains(b.o.Scenarios, s) }

func (b *bench) runOnce(ctx context.Context) storeRun {
	b.init()
	var r storeRun
	name := storeName(b.be)
	step := func(s string, f func() string) {
		if !b.want(s) || ctx.Err() != nil {
			return
		}
		t0 := time.Now()
		summary := f()
		b.logf("%s: %-8s %s (%.1fs)", name, s, summary, time.Since(t0).Seconds())
	}
	step("raw", func() string {
		r.Raw = b.raw(ctx)
		return r.Raw.summary()
	})
	step("steady", func() string {
		r.Steady = b.steady(ctx)
		if r.Raw != nil && r.Raw.PerSec > 0 {
			r.Steady.RatioToRaw = r.Steady.DeliveriesPerSec / r.Raw.PerSec
		}
		return r.Steady.summary()
	})
	step("backlog", func() string {
		r.Backlog = b.backlog(ctx)
		if r.Steady != nil && r.Steady.DeliveriesPerSec > 0 {
			r.Backlog.RatioToSteady = r.Backlog.DeliveriesPerSec / r.Steady.DeliveriesPerSec
		}
		return r.Backlog.summary()
	})
	step("hanging", func() string {
		r.Hanging = b.hanging(ctx)
		return r.Hanging.summary()
	})
	step("fanout", func() string {
		r.Fanout = b.fanout(ctx)
		return r.Fanout.summary()
	})
	return r
}

func storeName(be backend) string {
	switch be.(type) {
	case memBackend:
		return "memory"
	case *sqliteBackend:
		return "sqlite"
	case *pgBackend:
		return "postgres"
	case *redisBackend:
		return "redis"
	}
	return fmt.Sprintf("%T", be)
}

// RawResult is the ceiling: signed POSTs straight to the receivers.
type RawResult struct {
	Requests  int `json:"requests"`
	Endpoints int `json:"endpoints"`
	Workers   int `json:"workers"`
	// PerSec: requests/s with a plain net/http client (MaxIdleConnsPerHost =
	// workers), the figure the other scenarios are compared with.
	PerSec float64 `json:"perSec"`
	// ViaSenderPerSec: the same through the library's transport/sender, as
	// the dispatcher sends; the gap to PerSec is the sender's own cost.
	ViaSenderPerSec float64 `json:"viaSenderPerSec"`
	// Delivered counts distinct requests received over both clients' runs.
	Delivered int64  `json:"delivered"`
	Error     string `json:"error,omitempty"`
}

func (r *RawResult) counts() (got, want, dups int64) {
	return r.Delivered, 2 * int64(r.Requests), 0
}

func (r *RawResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("%.0f req/s (via sender %.0f)", r.PerSec, r.ViaSenderPerSec)
}

func (b *bench) raw(ctx context.Context) *RawResult {
	res := &RawResult{Requests: b.o.Events * b.o.Endpoints, Endpoints: b.o.Endpoints, Workers: b.o.Workers}
	tr := &http.Transport{MaxIdleConnsPerHost: b.o.Workers, DisableCompression: true, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var err error
	var got int64
	res.PerSec, got, err = b.rawOnce(ctx, res.Requests, func(ctx context.Context, url string, h http.Header) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b.body))
		if err != nil {
			return err
		}
		req.Header = h
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
	res.Delivered += got
	if err != nil {
		res.Error = "net/http: " + err.Error()
		return res
	}
	snd := sender.New(&sender.Options{AllowPrivateNetworks: true})
	defer snd.Close()
	res.ViaSenderPerSec, got, err = b.rawOnce(ctx, res.Requests, func(ctx context.Context, url string, h http.Header) error {
		h.Del("Content-Type")
		resp, err := snd.Send(ctx, &sender.Request{URL: url, Body: b.body, ContentType: "application/json", Protected: h, Timeout: 30 * time.Second})
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	})
	res.Delivered += got
	if err != nil {
		res.Error = "sender: " + err.Error()
	}
	return res
}

// rawOnce sends n signed requests from Workers goroutines, round-robin over
// fresh receivers, and returns requests/s from the first request to the
// last one received, and how many distinct requests arrived.
func (b *bench) rawOnce(ctx context.Context, n int, send func(ctx context.Context, url string, h http.Header) error) (float64, int64, error) {
	t := newTally()
	rs, err := startReceivers(t, b.o.Endpoints, 0)
	if err != nil {
		return 0, 0, err
	}
	defer rs.close()
	done := t.expect(int64(n))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	scheme := webhooks.HMACScheme{}
	began := time.Now()
	var wg sync.WaitGroup
	for range b.o.Workers {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) || ctx.Err() != nil {
					return
				}
				h := http.Header{}
				h.Set("Content-Type", "application/json")
				// HMACScheme.Sign is webhooks.SignHMACSHA256 over the body
				// plus the event, delivery and timestamp headers.
				scheme.Sign(h, &webhooks.Message{DeliveryID: i, EventType: eventType, Timestamp: time.Now(), Body: b.body}, []string{rawSecret})
				if err := send(ctx, rs.urls[int(i)%len(rs.urls)], h); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = b.wait(ctx, done, t, n)
	}
	got, _, _, last := t.counts()
	if firstErr != nil {
		return 0, got, firstErr
	}
	return float64(n) / last.Sub(began).Seconds(), got, nil
}

// harness is one scenario's fresh store, receivers and dispatcher.
type harness struct {
	cleanup  func()
	counters *storeCounters // with -store-stats
	d        *webhooks.Dispatcher
	snd      *sender.Sender
	tally    *tally
	recv     *receivers
}

// setup opens a fresh store and starts healthy+hanging receivers, each
// with a webhook subscribed to everything (the hanging ones first, so they
// have the lowest IDs, and never auto-disabled). timeout is the webhooks'
// timeout, 0 for the default (Limits.MaxTimeout here).
func (b *bench) setup(ctx context.Context, healthy, hanging int, timeout time.Duration) (*harness, error) {
	st, cleanup, err := b.be.fresh(ctx, b.logs.logger())
	if err != nil {
		return nil, fmt.Errorf("opening a fresh store: %w", err)
	}
	h := &harness{cleanup: cleanup, tally: newTally()}
	if b.o.StoreStats {
		h.counters = &storeCounters{}
		st = withCounters(st, h.counters)
	}
	if h.recv, err = startReceivers(h.tally, healthy, hanging); err != nil {
		h.close(0)
		return nil, err
	}
	h.snd = sender.New(&sender.Options{AllowPrivateNetworks: true}) // loopback receivers
	h.d, err = webhooks.New(webhooks.Config{
		Registry:  b.reg,
		Store:     st,
		RateLimit: 1e6, // measure the pipeline, not the per-endpoint limiter
		Workers:   b.o.Workers,
		// Short timeouts are allowed so the hanging endpoint times out in
		// seconds; the lease must outlast the longest one.
		Limits: webhooks.Limits{MinTimeout: 100 * time.Millisecond, MaxTimeout: b.o.HangTimeout},
		Lease:  max(30*time.Second, 3*b.o.HangTimeout),
		Logger: b.logs.logger(),
		Sender: h.snd,
	})
	if err != nil {
		h.close(0)
		return nil, err
	}
	for i, url := range h.recv.urls {
		in := webhooks.WebhookInput{Name: webhooks.Ptr(fmt.Sprintf("bench endpoint %d", i)), URL: webhooks.Ptr(url), Events: []string{"*"}}
		if timeout > 0 {
			in.Timeout = &timeout
		}
		if i < hanging {
			in.AutoDisableAfterFailures = webhooks.Ptr(0)
		}
		if _, err := h.d.CreateWebhook(ctx, "", in); err != nil {
			h.close(0)
			return nil, fmt.Errorf("creating webhook %d: %w", i, err)
		}
	}
	return h, nil
}

func (h *harness) start(ctx context.Context) error { return h.d.Start(ctx) }

// storeCalls returns the store calls counted so far, nil without -store-stats.
func (h *harness) storeCalls() *StoreCalls {
	if h.counters == nil {
		return nil
	}
	return h.counters.snapshot()
}

// close releases hanging requests, stops the dispatcher (cancelling what
// is still in flight after grace), and deletes the store.
func (h *harness) close(grace time.Duration) {
	if h.recv != nil {
		select {
		case <-h.recv.stop:
		default:
			close(h.recv.stop)
		}
	}
	if h.d != nil {
		ctx, cancel := context.WithTimeout(context.Background(), max(grace, time.Millisecond))
		_ = h.d.Stop(ctx)
		cancel()
	}
	if h.recv != nil {
		h.recv.close()
	}
	if h.snd != nil {
		h.snd.Close()
	}
	h.cleanup()
}

func (b *bench) event(i int) webhooks.Event {
	return webhooks.Event{Type: eventType, Data: webhooks.EventData{ID: i, Type: "Order", Attributes: b.attrs}}
}

// emitAll emits n events from -emitters goroutines and returns each Emit's latency.
func (b *bench) emitAll(ctx context.Context, d *webhooks.Dispatcher, n int) ([]time.Duration, error) {
	var next atomic.Int64
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	var errs []error
	var wg sync.WaitGroup
	for range b.o.Emitters {
		wg.Go(func() {
			mine := make([]time.Duration, 0, n/b.o.Emitters+1)
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for {
				i := next.Add(1)
				if i > int64(n) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := d.Emit(ctx, b.event(int(i))); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return lat, fmt.Errorf("emit: %w (%d emitters failed)", errs[0], len(errs))
	}
	return lat, ctx.Err()
}

// wait waits for done, or fails after -timeout saying how many arrived.
func (b *bench) wait(ctx context.Context, done <-chan struct{}, t *tally, want int) error {
	timer := time.NewTimer(b.o.Timeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	got, _, bad, _ := t.counts()
	msg := fmt.Sprintf("only %d of %d deliveries arrived within %s", got, want, b.o.Timeout)
	if bad > 0 {
		msg += fmt.Sprintf(" (%d requests without a delivery ID)", bad)
	}
	if ctx.Err() != nil {
		msg += " (interrupted)"
	}
	return errors.New(msg)
}

// quiesce collects garbage and returns memory to the OS, so each
// scenario's peak starts from the same floor.
func quiesce() {
	runtime.GC()
	debug.FreeOSMemory()
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, int(float64(len(sorted))*p))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// DeliveryCounts are the totals of a scenario where every event goes to
// every endpoint: what it expected and what arrived.
type DeliveryCounts struct {
	Events     int   `json:"events"`
	Endpoints  int   `json:"endpoints"`
	Deliveries int   `json:"deliveries"`
	Delivered  int64 `json:"delivered"`
	Duplicates int64 `json:"duplicates"`
}

func (c *DeliveryCounts) counts() (got, want, dups int64) {
	return c.Delivered, int64(c.Deliveries), c.Duplicates
}

// SteadyResult: emitters and deliveries running together.
type SteadyResult struct {
	DeliveryCounts
	// Seconds from the first Emit to the last new delivery received.
	Seconds          float64     `json:"seconds"`
	DeliveriesPerSec float64     `json:"deliveriesPerSec"`
	RatioToRaw       float64     `json:"ratioToRaw"`
	EmitPerSec       float64     `json:"emitPerSec"`
	EmitP50Ms        float64     `json:"emitP50Ms"`
	EmitP99Ms        float64     `json:"emitP99Ms"`
	PeakHeapMiB      float64     `json:"peakHeapMiB"`
	PeakRSSMiB       float64     `json:"peakRSSMiB"`
	StoreCalls       *StoreCalls `json:"storeCalls,omitempty"`
	Error            string      `json:"error,omitempty"`
}

func (r *SteadyResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("%.0f deliveries/s (%.2f × raw), emit %.0f/s p50 %.2fms p99 %.2fms, heap %.0f MiB",
		r.DeliveriesPerSec, r.RatioToRaw, r.EmitPerSec, r.EmitP50Ms, r.EmitP99Ms, r.PeakHeapMiB)
}

func (b *bench) steady(ctx context.Context) *SteadyResult {
	o := b.o
	res := &SteadyResult{DeliveryCounts: DeliveryCounts{Events: o.Events, Endpoints: o.Endpoints, Deliveries: o.Events * o.Endpoints}}
	h, err := b.setup(ctx, o.Endpoints, 0, 0)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer h.close(10 * time.Second)
	if err := h.start(ctx); err != nil {
		res.Error = err.Error()
		return res
	}
	done := h.tally.expect(int64(res.Deliveries))
	quiesce()
	mem := startMemSampler()
	began := time.Now()
	lat, err := b.emitAll(ctx, h.d, o.Events)
	emitDur := time.Since(began)
	if err == nil {
		err = b.wait(ctx, done, h.tally, res.Deliveries)
	}
	res.PeakHeapMiB, res.PeakRSSMiB = mem.finish()
	res.StoreCalls = h.storeCalls()
	unique, dups, _, last := h.tally.counts()
	res.Delivered, res.Duplicates = unique, dups
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Seconds = last.Sub(began).Seconds()
	res.DeliveriesPerSec = float64(res.Deliveries) / res.Seconds
	res.EmitPerSec = float64(o.Events) / emitDur.Seconds()
	slices.Sort(lat)
	res.EmitP50Ms, res.EmitP99Ms = percentile(lat, 0.50), percentile(lat, 0.99)
	return res
}

// BacklogResult: deliveries queued while the dispatcher was stopped, then drained.
type BacklogResult struct {
	DeliveryCounts
	// FillSeconds is how long emitting the backlog took (dispatcher stopped).
	FillSeconds float64 `json:"fillSeconds"`
	// Seconds from Start to the last new delivery received.
	Seconds          float64     `json:"seconds"`
	DeliveriesPerSec float64     `json:"deliveriesPerSec"`
	RatioToSteady    float64     `json:"ratioToSteady"`
	PeakHeapMiB      float64     `json:"peakHeapMiB"`
	PeakRSSMiB       float64     `json:"peakRSSMiB"`
	StoreCalls       *StoreCalls `json:"storeCalls,omitempty"`
	Error            string      `json:"error,omitempty"`
}

func (r *BacklogResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("%d queued in %.1fs, drained at %.0f deliveries/s (%.2f × steady), heap %.0f MiB, RSS %.0f MiB",
		r.Deliveries, r.FillSeconds, r.DeliveriesPerSec, r.RatioToSteady, r.PeakHeapMiB, r.PeakRSSMiB)
}

func (b *bench) backlog(ctx context.Context) *BacklogResult {
	o := b.o
	events := (o.Backlog + o.Endpoints - 1) / o.Endpoints
	res := &BacklogResult{DeliveryCounts: DeliveryCounts{Events: events, Endpoints: o.Endpoints, Deliveries: events * o.Endpoints}}
	h, err := b.setup(ctx, o.Endpoints, 0, 0)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer h.close(10 * time.Second)
	t0 := time.Now()
	if _, err := b.emitAll(ctx, h.d, events); err != nil { // not started: everything queues
		res.Error = err.Error()
		return res
	}
	res.FillSeconds = time.Since(t0).Seconds()
	done := h.tally.expect(int64(res.Deliveries))
	quiesce()
	mem := startMemSampler()
	began := time.Now()
	err = h.start(ctx)
	if err == nil {
		err = b.wait(ctx, done, h.tally, res.Deliveries)
	}
	res.PeakHeapMiB, res.PeakRSSMiB = mem.finish()
	res.StoreCalls = h.storeCalls()
	unique, dups, _, last := h.tally.counts()
	res.Delivered, res.Duplicates = unique, dups
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Seconds = last.Sub(began).Seconds()
	res.DeliveriesPerSec = float64(res.Deliveries) / res.Seconds
	return res
}

// HangingResult: healthy endpoints' throughput beside one that never answers.
type HangingResult struct {
	Endpoints         int `json:"endpoints"`
	Events            int `json:"events"`
	HealthyDeliveries int `json:"healthyDeliveries"`
	// Delivered: healthy deliveries received over both runs (2 × HealthyDeliveries when complete).
	Delivered  int64 `json:"delivered"`
	Duplicates int64 `json:"duplicates"`
	// WithoutPerSec: the healthy endpoints alone; WithPerSec: beside the
	// hanging one. Both from the first Emit to the last healthy delivery.
	WithoutPerSec float64 `json:"withoutPerSec"`
	WithPerSec    float64 `json:"withPerSec"`
	Ratio         float64 `json:"ratio"`
	// HangRequests the hanging endpoint received (each held a worker
	// until its timeout) while the healthy ones were served.
	HangRequests int64   `json:"hangRequests"`
	TimeoutSec   float64 `json:"timeoutSec"`
	Error        string  `json:"error,omitempty"`
}

func (r *HangingResult) counts() (got, want, dups int64) {
	return r.Delivered, 2 * int64(r.HealthyDeliveries), r.Duplicates
}

func (r *HangingResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("healthy %.0f/s without, %.0f/s with a hanging endpoint (%.2f); it got %d requests",
		r.WithoutPerSec, r.WithPerSec, r.Ratio, r.HangRequests)
}

func (b *bench) hanging(ctx context.Context) *HangingResult {
	o := b.o
	healthy := o.HangEndpoints - 1
	res := &HangingResult{Endpoints: o.HangEndpoints, Events: o.HangEvents, HealthyDeliveries: o.HangEvents * healthy,
		TimeoutSec: o.HangTimeout.Seconds()}
	run := func(hanging int) (float64, error) {
		h, err := b.setup(ctx, healthy, hanging, o.HangTimeout)
		if err != nil {
			return 0, err
		}
		// Stop cancels the hanging requests rather than waiting them out.
		defer h.close(200 * time.Millisecond)
		if err := h.start(ctx); err != nil {
			return 0, err
		}
		done := h.tally.expect(int64(res.HealthyDeliveries))
		began := time.Now()
		_, err = b.emitAll(ctx, h.d, o.HangEvents)
		if err == nil {
			err = b.wait(ctx, done, h.tally, res.HealthyDeliveries)
		}
		unique, dups, _, last := h.tally.counts()
		res.Delivered += unique
		res.Duplicates += dups
		res.HangRequests += h.recv.hangs.Load()
		if err != nil {
			return 0, err
		}
		return float64(res.HealthyDeliveries) / last.Sub(began).Seconds(), nil
	}
	var err error
	if res.WithoutPerSec, err = run(0); err != nil {
		res.Error = "without the hanging endpoint: " + err.Error()
		return res
	}
	if res.WithPerSec, err = run(1); err != nil {
		res.Error = "with the hanging endpoint: " + err.Error()
		return res
	}
	res.Ratio = res.WithPerSec / res.WithoutPerSec
	return res
}

// FanoutResult: one event at a time to many endpoints.
type FanoutResult struct {
	DeliveryCounts
	// P50Ms and P99Ms: from Emit's call to the last endpoint's receipt, per event.
	P50Ms            float64 `json:"p50Ms"`
	P99Ms            float64 `json:"p99Ms"`
	DeliveriesPerSec float64 `json:"deliveriesPerSec"`
	Error            string  `json:"error,omitempty"`
}

func (r *FanoutResult) summary() string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	return fmt.Sprintf("1 event → %d endpoints: p50 %.2fms p99 %.2fms, %.0f deliveries/s",
		r.Endpoints, r.P50Ms, r.P99Ms, r.DeliveriesPerSec)
}

func (b *bench) fanout(ctx context.Context) *FanoutResult {
	o := b.o
	res := &FanoutResult{DeliveryCounts: DeliveryCounts{Endpoints: o.Fanout, Events: o.FanoutEvents, Deliveries: o.Fanout * o.FanoutEvents}}
	h, err := b.setup(ctx, o.Fanout, 0, 0)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer h.close(10 * time.Second)
	if err := h.start(ctx); err != nil {
		res.Error = err.Error()
		return res
	}
	lat := make([]time.Duration, 0, o.FanoutEvents)
	began := time.Now()
	for i := range o.FanoutEvents {
		done := h.tally.expect(int64((i + 1) * o.Fanout))
		t0 := time.Now()
		err = h.d.Emit(ctx, b.event(i))
		if err == nil {
			err = b.wait(ctx, done, h.tally, (i+1)*o.Fanout)
		}
		if err != nil {
			break
		}
		lat = append(lat, time.Since(t0))
	}
	total := time.Since(began)
	res.Delivered, res.Duplicates, _, _ = h.tally.counts()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	slices.Sort(lat)
	res.P50Ms, res.P99Ms = percentile(lat, 0.50), percentile(lat, 0.99)
	res.DeliveriesPerSec = float64(res.Deliveries) / total.Seconds()
	return res
}
