package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
)

// proxy forwards TCP connections to Postgres until cut: then it drops every
// connection and closes new ones at once, as a database that went away
// would, until restored.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
	})
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			_ = c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut drops every connection and refuses new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// dsn returns the test URL pointed at the proxy.
func (p *proxy) dsn(t *testing.T) string {
	u, err := url.Parse(testURL(t))
	require.NoError(t, err)
	u.Host = p.ln.Addr().String()
	return u.String()
}

func proxyFor(t *testing.T) *proxy {
	u, err := url.Parse(testURL(t))
	require.NoError(t, err)
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	return startProxy(t, host)
}

// Listen survives losing its connection: it reconnects with backoff, wakes
// the dispatcher once listening again, and hears later notifications.
func TestListenReconnects(t *testing.T) {
	px := proxyFor(t)
	schema := freshSchema(t)
	st, err := pgstore.Open(ctx, px.dsn(t), &pgstore.Options{Schema: schema, Logger: quietLogger(),
		ReconnectMaxDelay: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })

	var wakes atomic.Int64
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- st.Listen(lctx, func() { wakes.Add(1) }) }()
	waitFor(t, "the first LISTEN", 5*time.Second, func() bool { return wakes.Load() >= 1 })

	notify := func() {
		_, err := sharedPool(t).Exec(ctx, `SELECT pg_notify($1, '')`, st.Channel())
		require.NoError(t, err)
	}
	n := wakes.Load()
	notify()
	waitFor(t, "a notification", 5*time.Second, func() bool { return wakes.Load() > n })

	px.cut()
	time.Sleep(700 * time.Millisecond) // a few failed reconnects
	n = wakes.Load()
	px.restore()
	waitFor(t, "the wake-up after reconnecting", 5*time.Second, func() bool { return wakes.Load() > n })
	n = wakes.Load()
	notify()
	waitFor(t, "a notification after reconnecting", 5*time.Second, func() bool { return wakes.Load() > n })

	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}

	// Close ends Listen too.
	done2 := make(chan error, 1)
	go func() { done2 <- st.Listen(ctx, func() {}) }()
	time.Sleep(100 * time.Millisecond)
	require.NoError(t, st.Close())
	select {
	case err := <-done2:
		require.ErrorContains(t, err, "pgstore: listen: store closed")
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after Close")
	}
}

// Postgres unreachable mid-run: Emit fails (no panic, nothing half
// stored), the dispatcher keeps running, and once the database is back it
// delivers everything stored, including what was in flight when the
// connection dropped.
func TestDatabaseOutageMidRun(t *testing.T) {
	px := proxyFor(t)
	schema := freshSchema(t)
	st, err := pgstore.Open(ctx, px.dsn(t), &pgstore.Options{Schema: schema, Logger: quietLogger(),
		ReconnectMaxDelay: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	rc := newReceiver(t)
	d := newDispatcher(t, webhooks.Config{Store: st, PollInterval: 200 * time.Millisecond,
		Lease: 3 * time.Second, Limits: webhooks.Limits{MaxTimeout: 2 * time.Second}})
	timeout := 2 * time.Second
	addHook(t, d, rc.URL, webhooks.WebhookInput{Timeout: &timeout})
	startDispatcher(t, d)

	emit := func(id string) error {
		ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return d.Emit(ectx, webhooks.Event{ID: id, Type: "order.created", Data: webhooks.EventData{ID: id}})
	}
	require.NoError(t, emit("before"))
	waitFor(t, "the first delivery", 5*time.Second, func() bool { return rc.distinct() == 1 })

	// Requests in flight when the database goes away: their outcomes
	// cannot be recorded.
	rc.setDelay(time.Second)
	for i := range 5 {
		require.NoError(t, emit(fmt.Sprint("inflight-", i)))
	}
	time.Sleep(200 * time.Millisecond)
	px.cut()
	start := time.Now()
	err = emit("during")
	require.Error(t, err, "Emit while the database is unreachable")
	require.False(t, errors.Is(err, context.DeadlineExceeded), "Emit fails fast, not by timing out: %v", err)
	t.Logf("Emit during the outage failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	rc.setDelay(0)
	time.Sleep(2 * time.Second) // the dispatcher's claims and completions fail meanwhile

	px.restore()
	waitFor(t, "Emit to work again", 10*time.Second, func() bool { return emit("after") == nil })
	for i := range 5 {
		require.NoError(t, emit(fmt.Sprint("after-", i)))
	}
	all := deliveryIDsOf(t, schema, "") // every delivery of the store
	require.Len(t, all, 1+5+1+5, "before, in flight, after: nothing half stored from the failed Emit")
	waitFor(t, "every stored delivery", 30*time.Second, func() bool {
		counts := rc.counts()
		for id := range all {
			if counts[id] == 0 {
				return false
			}
		}
		return true
	})
	waitFor(t, "every outcome recorded", 10*time.Second, func() bool {
		for _, status := range deliveryIDsOf(t, schema, "") {
			if status != "SUCCESS" {
				return false
			}
		}
		return true
	})
	dups := 0
	for _, c := range rc.counts() {
		if c > 1 {
			dups++
		}
	}
	t.Logf("all %d deliveries arrived; %d twice (in flight during the outage)", len(all), dups)
}
