package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/redisstore"
)

// proxy forwards TCP connections to Redis until cut; restore listens on
// the same address again. It stands for a Redis that goes away and comes
// back, without touching the shared server.
type proxy struct {
	t      *testing.T
	addr   string
	target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]bool{}}
	p.serve(ln)
	t.Cleanup(func() {
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, src)
				_ = dst.Close()
				_ = src.Close()
				p.mu.Lock()
				delete(p.conns, dst)
				delete(p.conns, src)
				p.mu.Unlock()
			}
			p.wg.Go(func() { pipe(up, c) })
			p.wg.Go(func() { pipe(c, up) })
		}
	})
}

// cut closes the listener and every connection: Redis is unreachable.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
}

// restore listens on the same address again.
func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	require.NoError(p.t, err)
	p.serve(ln)
}

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

type stderrLogger struct{ *log.Logger }

func (l stderrLogger) Printf(_ context.Context, format string, v ...any) {
	l.Logger.Printf(format, v...)
}

// quietRedis silences go-redis's own logging (dial failures) for the test.
func quietRedis(t *testing.T) {
	redis.SetLogger(quietLogger{})
	t.Cleanup(func() { redis.SetLogger(stderrLogger{log.New(os.Stderr, "redis: ", log.LstdFlags)}) })
}

// redisGoroutines reports goroutines of go-redis, the store or a dispatcher.
func redisGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "go-redis") || strings.Contains(g, "redisstore.(*Store)") ||
			strings.Contains(g, "webhooks.(*Dispatcher)") || strings.Contains(g, "webhooks.(*emitBatcher)") {
			found = append(found, g)
		}
	}
	return strings.Join(found, "\n\n")
}

// TestRedisOutage: Redis becomes unreachable mid-run. Emit fails while it
// is down, nothing panics, deliveries resume when it is back, and once
// stopped no goroutine is left behind.
func TestRedisOutage(t *testing.T) {
	opts := redisOptions(t)
	px := newProxy(t, opts.Addr)
	opts.Addr = px.addr
	opts.DialTimeout = 300 * time.Millisecond
	opts.ReadTimeout = time.Second
	opts.WriteTimeout = time.Second
	opts.MaxRetries = 1
	opts.PoolTimeout = time.Second
	c := redis.NewClient(opts)
	require.NoError(t, c.Ping(t.Context()).Err())
	prefix := uniquePrefix()
	newStore(t, newClient(t), prefix) // deletes the keys at the end, through a direct connection
	st, err := redisstore.New(c, &redisstore.Options{Prefix: prefix, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	quietRedis(t)

	d := newDispatcher(t, st, webhooks.Config{})
	rc := newTally(t, 0)
	url := rc.URL + "/outage"
	_, err = d.CreateWebhook(t.Context(), "", webhooks.WebhookInput{Name: &url, URL: &url, Events: []string{"*"}})
	require.NoError(t, err)
	require.NoError(t, d.Start(t.Context()))
	emit := func(id string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		return d.Emit(ctx, webhooks.Event{ID: id, Type: "order.created", Data: webhooks.EventData{ID: 1, Type: "Order"}})
	}
	for i := range 20 {
		require.NoError(t, emit(fmt.Sprintf("before-%d", i)))
	}
	require.Eventually(t, func() bool { return rc.distinct() == 20 }, 10*time.Second, 5*time.Millisecond)

	px.cut()
	for i := range 5 {
		err := emit(fmt.Sprintf("down-%d", i))
		require.Error(t, err, "Emit while Redis is unreachable")
		t.Logf("Emit while down: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // the fetch loop and the listener fail meanwhile
	px.restore()

	// The pool reconnects on the next call.
	var sent []string
	require.Eventually(t, func() bool { return emit("after-0") == nil }, 10*time.Second, 50*time.Millisecond)
	sent = append(sent, "after-0")
	for i := 1; i < 20; i++ {
		id := fmt.Sprintf("after-%d", i)
		require.NoError(t, emit(id))
		sent = append(sent, id)
	}
	require.Eventually(t, func() bool { return rc.distinct() == 20+len(sent) }, 10*time.Second, 5*time.Millisecond,
		"deliveries resume after the outage: %d of %d", rc.distinct(), 20+len(sent))
	byID, _ := rc.duplicates()
	require.Zero(t, byID)

	stopWithin(t, d, 10*time.Second)
	require.NoError(t, c.Close())
	px.cut()
	require.Eventually(t, func() bool { return redisGoroutines() == "" }, 10*time.Second, 20*time.Millisecond,
		"goroutines left:\n%s", redisGoroutines())
}

// TestListenReconnects: Listen survives the connection dropping, calls
// wake again once subscribed again, and returns ctx.Err() at the end.
func TestListenReconnects(t *testing.T) {
	opts := redisOptions(t)
	px := newProxy(t, opts.Addr)
	opts.Addr = px.addr
	opts.DialTimeout = 300 * time.Millisecond
	c := redis.NewClient(opts)
	defer func() { _ = c.Close() }()
	direct := newClient(t)
	prefix := uniquePrefix()
	other := newStore(t, direct, prefix)
	st, err := redisstore.New(c, &redisstore.Options{Prefix: prefix, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)

	wakes := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Listen(ctx, func() { wakes <- struct{}{} }) }()
	waitWake := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up: %s", what)
		}
	}
	waitWake("after subscribing")
	require.NoError(t, direct.Publish(t.Context(), other.Channel(), "x").Err())
	waitWake("on a message")

	px.cut()
	time.Sleep(500 * time.Millisecond)
	px.restore()
	waitWake("after reconnecting")
	for len(wakes) > 0 {
		<-wakes
	}
	// Another process's Enqueue publishes.
	h := &webhooks.Webhook{Name: "h", URL: "https://example.com/h", Events: []string{"*"}, IsActive: true}
	require.NoError(t, other.CreateWebhook(t.Context(), h, 0))
	_, err = other.Enqueue(t.Context(), []webhooks.EnqueueEvent{{EventID: "e1", EventType: "order.created", Payload: []byte("{}"), WebhookIDs: []int64{h.ID}}})
	require.NoError(t, err)
	waitWake("on another store's Enqueue")

	cancel()
	select {
	case err := <-done:
		require.True(t, errors.Is(err, context.Canceled), "Listen returns ctx.Err(), got %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after ctx ended")
	}
}
