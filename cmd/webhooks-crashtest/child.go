package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/webhookkit/webhooks"
)

// childEnv carries the child's configuration (JSON); its presence makes the
// binary (or the test binary) run as a child.
const childEnv = "WEBHOOKS_CRASHTEST_CHILD"

// emitters is how many goroutines of a child emit at once, so that kills
// during emit hit group commits with several events in flight.
const emitters = 4

// childConfig tells a child what to do.
type childConfig struct {
	Target  target `json:"target"`
	Journal string `json:"journal"`
	// Start is the index of the first event to emit; Count how many. An
	// event emitted by an earlier child but not journaled is emitted again
	// with the same ID: Emit is idempotent on it.
	Start int `json:"start"`
	Count int `json:"count"`
	// Final makes the child report its store's outstanding deliveries.
	Final bool `json:"final"`
	// FakeEvery > 0 journals every FakeEvery-th event without emitting it:
	// a deliberate loss, for the test that shows the harness notices one.
	FakeEvery int `json:"fakeEvery,omitempty"`
}

func isChild() bool { return os.Getenv(childEnv) != "" }

func eventID(i int) string { return fmt.Sprintf("evt-%07d", i) }

// childMain is a child's whole life: open the store, run a dispatcher,
// emit its events and journal each one after Emit returned nil, then keep
// delivering until SIGKILL (or SIGTERM, for the final child). It reports
// to the parent on stdout, one line per fact:
//
//	ready                  the dispatcher runs; emitting starts
//	acked N                N events of this child are journaled (fsynced)
//	emit-failed ID         Emit kept failing for ID: not journaled
//	emitted                every event of this child was emitted
//	outstanding P F        (final child) P deliveries pending or retrying, F failed
//	stopped                (SIGTERM) the dispatcher stopped cleanly
func childMain() int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest child: bad", childEnv, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).
		With("pid", os.Getpid())
	fail := func(what string, err error) int {
		log.Error("crashtest child: "+what, "err", err)
		return 3
	}
	var outMu sync.Mutex
	say := func(format string, args ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, closeStore, err := cfg.Target.open(ctx, log)
	if err != nil {
		return fail("opening the store", err)
	}
	defer closeStore()
	d, err := webhooks.New(dispatcherConfig(st, log))
	if err != nil {
		return fail("creating the dispatcher", err)
	}
	if err := d.Start(context.Background()); err != nil {
		return fail("starting the dispatcher", err)
	}
	journal, err := os.OpenFile(cfg.Journal, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fail("opening the journal", err)
	}
	defer journal.Close()
	say("ready")

	// Emit, and journal an event only once Emit has returned nil for it.
	var (
		next     atomic.Int64
		jmu      sync.Mutex
		acked    int
		journalE atomic.Value
		wg       sync.WaitGroup
	)
	next.Store(int64(cfg.Start))
	end := int64(cfg.Start + cfg.Count)
	for range emitters {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= end || journalE.Load() != nil {
					return
				}
				id := eventID(int(i))
				ev := webhooks.Event{ID: id, Type: eventType, Data: webhooks.EventData{
					ID: i, Type: "Order", Attributes: map[string]any{"index": i, "note": "crash test"},
				}}
				var err error
				for try := range 5 {
					if cfg.FakeEvery > 0 && i%int64(cfg.FakeEvery) == 0 {
						break // journaled, never emitted
					}
					if err = d.Emit(context.Background(), ev); err == nil {
						break
					}
					log.Warn("crashtest child: emit failed, retrying with the same ID", "event", id, "err", err)
					time.Sleep(time.Duration(50<<try) * time.Millisecond) // back off before retrying the store
				}
				if err != nil {
					say("emit-failed %s", id)
					continue
				}
				jmu.Lock()
				_, err = journal.WriteString(id + "\n")
				if err == nil {
					err = journal.Sync()
				}
				if err == nil {
					acked++
					say("acked %d", acked)
				}
				jmu.Unlock()
				if err != nil {
					journalE.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := journalE.Load().(error); err != nil {
		return fail("writing the journal", err)
	}
	say("emitted")

	if cfg.Final {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
	report:
		for {
			pending, failed, err := outstanding(ctx, d)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				log.Warn("crashtest child: listing deliveries", "err", err)
			} else {
				say("outstanding %d %d", pending, failed)
			}
			select {
			case <-ctx.Done():
				break report
			case <-tick.C:
			}
		}
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		return fail("stopping the dispatcher", err)
	}
	say("stopped")
	return 0
}

// outstanding counts the store's deliveries not final yet (pending or
// retrying, including those leased by a killed child) and the failed ones.
func outstanding(ctx context.Context, d *webhooks.Dispatcher) (pending, failed int, err error) {
	for _, s := range []webhooks.DeliveryStatus{webhooks.StatusPending, webhooks.StatusRetrying, webhooks.StatusFailed} {
		ds, err := d.Deliveries(ctx, "", webhooks.ListDeliveriesParams{Status: s, Limit: 1000})
		if err != nil {
			return 0, 0, err
		}
		if s == webhooks.StatusFailed {
			failed = len(ds)
		} else {
			pending += len(ds)
		}
	}
	return pending, failed, nil
}
