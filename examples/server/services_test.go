package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The server on Redis (-redis) and on Postgres (-postgres), end to end.
// They need WEBHOOKS_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/0) and
// WEBHOOKS_TEST_POSTGRES_URL (e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable); without them
// they skip, unless WEBHOOKS_REQUIRE_SERVICES=1 (CI), where they fail. Each
// test uses its own namespace (config.namespace) and deletes its keys or
// drops its schemas afterwards.

// serviceURL returns the URL in env, or skips (fails when required).
func serviceURL(t *testing.T, env string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("WEBHOOKS_REQUIRE_SERVICES=1 but %s is not set", env)
		}
		t.Skipf("set %s to run the server against it", env)
	}
	return u
}

// newNamespace returns a namespace no other test, run or process uses.
func newNamespace(t *testing.T) string {
	t.Helper()
	var b [5]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	return "t" + hex.EncodeToString(b[:]) + "_"
}

// redisForTest connects to url and, when the test ends, deletes every key
// of the namespace's prefixes (SCAN MATCH, never FLUSHDB: Redis is shared).
// Register it before starting the server, so it runs after the server stops.
func redisForTest(t *testing.T, url, namespace string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, dc := range demoClients {
			iter := rdb.Scan(ctx, 0, redisPrefix(namespace, dc.client.ID)+"*", 1000).Iterator()
			var keys []string
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
			}
			require.NoError(t, iter.Err())
			if len(keys) > 0 {
				require.NoError(t, rdb.Unlink(ctx, keys...).Err())
			}
		}
		_ = rdb.Close()
	})
	return rdb
}

// postgresForTest connects to url and, when the test ends, drops the
// namespace's schemas. Register it before starting the server.
func postgresForTest(t *testing.T, url, namespace string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, dc := range demoClients {
			_, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{pgSchema(namespace, dc.client.ID)}.Sanitize()+" CASCADE")
			require.NoError(t, err)
		}
		_ = conn.Close(ctx)
	})
	return conn
}

// exerciseStore creates a webhook per client through the admin API and
// emits through the domain endpoints; each receiver gets its client's
// deliveries, signed, with client and company. It returns acme's webhook.
func exerciseStore(t *testing.T, ts *testServer) (hookID int64) {
	t.Helper()
	rc, rcGlobex := newReceiver(t), newReceiver(t)
	hookID, secret := createWebhook(t, ts, "acme-company-1", seedWebhook(rc.URL+"/webhooks/tgm"))
	globexHook := seedWebhook(rcGlobex.URL + "/webhooks/tgm")
	globexHookID, globexSecret := createWebhook(t, ts, "globex-admin", globexHook)

	created := ts.must(t, http.StatusCreated, "POST", "/api/inspections", "acme-company-1",
		`{"title": "Monthly Turbine Inspection", "status": "pending", "scheduledDate": "2026-02-15"}`)
	insID := id(t, obj(t, created["data"])["id"])
	body := checkSigned(t, rc.next(t, 1), secret, "inspection.created")
	require.Equal(t, obj(t, created["meta"])["eventId"], body["eventId"])
	require.EqualValues(t, hookID, body["webhookId"])
	require.JSONEq(t, `{"id": "acme-corp", "name": "Acme Corporation"}`, jsonOf(t, body["client"]))
	require.JSONEq(t, `{"id": 1, "name": "Acme HQ"}`, jsonOf(t, body["company"]))
	attrs := obj(t, obj(t, body["data"])["attributes"])
	require.EqualValues(t, insID, attrs["id"])
	require.Equal(t, "Monthly Turbine Inspection", attrs["title"])
	require.Equal(t, "2026-02-15", attrs["scheduledDate"])

	ts.must(t, http.StatusOK, "PUT", fmt.Sprintf("/api/inspections/%d", insID), "acme-company-1", `{"status": "completed"}`)
	body = checkSigned(t, rc.next(t, 2), secret, "inspection.updated")
	require.JSONEq(t, `{"status": "pending"}`, jsonOf(t, obj(t, body["data"])["previous"]))

	ts.must(t, http.StatusAccepted, "POST", "/api/events", "acme-company-1", `{"event": "alert.created", "data": {"id": 7}}`)
	checkSigned(t, rc.next(t, 3), secret, "alert.created")

	// Globex, in its own prefix or schema: its own webhook, inspection and delivery.
	ts.must(t, http.StatusCreated, "POST", "/api/inspections", "globex-admin", `{"title": "Globex audit", "companyId": 1}`)
	body = checkSigned(t, rcGlobex.next(t, 1), globexSecret, "inspection.created")
	require.EqualValues(t, globexHookID, body["webhookId"])
	require.JSONEq(t, `{"id": "globex", "name": "Globex Inc"}`, jsonOf(t, body["client"]))
	require.JSONEq(t, `{"id": 1, "name": "Globex HQ"}`, jsonOf(t, body["company"]))

	// Isolation across the shared Redis or database.
	ts.must(t, http.StatusNotFound, "GET", fmt.Sprintf("%s/%d/deliveries", adminPrefix, hookID), "acme-company-2", nil)
	require.Len(t, list(t, ts.must(t, http.StatusOK, "GET", adminPrefix+"/company/1", "globex-admin", nil)["data"]), 1)
	require.Len(t, list(t, ts.must(t, http.StatusOK, "GET", "/api/inspections", "globex-admin", nil)["data"]), 1)
	require.Len(t, list(t, ts.must(t, http.StatusOK, "GET", "/api/inspections", "acme-admin", nil)["data"]), 1)

	require.Eventually(t, func() bool {
		ds := deliveries(t, ts, "acme-company-1", hookID)
		for _, d := range ds {
			if obj(t, d)["status"] != "SUCCESS" {
				return false
			}
		}
		return len(ds) == 3
	}, waitFor, 10*time.Millisecond)
	require.Equal(t, 3, rc.count())
	require.Equal(t, 1, rcGlobex.count())
	return hookID
}

// checkRestart restarts the server: webhooks, history and inspections are
// still there.
func checkRestart(t *testing.T, ts *testServer, hookID int64, start func() *testServer) {
	t.Helper()
	require.NoError(t, ts.stop(t))
	ts = start()
	ts.must(t, http.StatusOK, "GET", fmt.Sprintf("%s/%d", adminPrefix, hookID), "acme-company-1", nil)
	require.Len(t, deliveries(t, ts, "acme-company-1", hookID), 3)
	require.Len(t, list(t, ts.must(t, http.StatusOK, "GET", "/api/inspections", "acme-admin", nil)["data"]), 1)
}

func TestRedis(t *testing.T) {
	url := serviceURL(t, "WEBHOOKS_TEST_REDIS_URL")
	ns := newNamespace(t)
	rdb := redisForTest(t, url, ns)
	dir := t.TempDir()
	start := func() *testServer { return startServerIn(t, dir, ns, "-allow-private-networks", "-redis", url) }
	ts := start()
	require.Contains(t, ts.stdout.String(), "keys webhooks:{"+ns+"acme-corp}:*")

	hookID := exerciseStore(t, ts)

	// The webhooks are in Redis, each client under its prefix; the
	// inspections in SQLite files of their own.
	ctx := context.Background()
	n, err := rdb.Exists(ctx, fmt.Sprintf("webhooks:{%sacme-corp}:wh:%d", ns, hookID)).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	n, err = rdb.ZCard(ctx, "webhooks:{"+ns+"globex}:webhooks").Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	for _, f := range []string{"acme-corp.inspections.db", "globex.inspections.db"} {
		require.FileExists(t, filepath.Join(dir, f))
	}
	require.NoFileExists(t, filepath.Join(dir, "acme-corp.db"))

	checkRestart(t, ts, hookID, start)
}

// TestRedisEmitAfterCommit: with Redis out of reach, an inspection is saved
// (its row commits first) but its event cannot be: the answer is a 500
// naming the event ID, which a host would emit again later.
func TestRedisEmitAfterCommit(t *testing.T) {
	url := serviceURL(t, "WEBHOOKS_TEST_REDIS_URL")
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	ns := newNamespace(t)
	redisForTest(t, url, ns)
	px := newProxy(t, opts.Addr)
	proxied := fmt.Sprintf("redis://%s/%d", px.addr(), opts.DB)
	if opts.Password != "" {
		proxied = fmt.Sprintf("redis://%s:%s@%s/%d", opts.Username, opts.Password, px.addr(), opts.DB)
	}

	rc := newReceiver(t)
	ts := startServerIn(t, t.TempDir(), ns, "-allow-private-networks", "-redis", proxied)
	createWebhook(t, ts, "acme-company-1", seedWebhook(rc.URL))

	px.cut()
	status, out := ts.call(t, "POST", "/api/inspections", "acme-company-1", `{"title": "Saved, event lost"}`)
	require.Equal(t, http.StatusInternalServerError, status, "%v", out)
	e := obj(t, out["error"])
	require.Equal(t, "event_not_recorded", e["code"])
	require.Contains(t, e["message"], "inspection.created (eventId ")

	ins := list(t, ts.must(t, http.StatusOK, "GET", "/api/inspections", "acme-admin", nil)["data"])
	require.Len(t, ins, 1, "the row committed before Emit")
	require.Equal(t, "Saved, event lost", obj(t, ins[0])["title"])
	require.Equal(t, 0, rc.count())
}

func TestPostgres(t *testing.T) {
	url := serviceURL(t, "WEBHOOKS_TEST_POSTGRES_URL")
	ns := newNamespace(t)
	conn := postgresForTest(t, url, ns)
	dir := t.TempDir()
	start := func() *testServer { return startServerIn(t, dir, ns, "-allow-private-networks", "-postgres", url) }
	ts := start()
	require.Contains(t, ts.stdout.String(), "schema webhooks_"+ns+"acme_corp")

	hookID := exerciseStore(t, ts)

	// Each client's webhooks and inspections are in its own schema; -data is unused.
	ctx := context.Background()
	for _, c := range []struct {
		client, title string
	}{{"acme-corp", "Monthly Turbine Inspection"}, {"globex", "Globex audit"}} {
		schema := pgSchema(ns, c.client)
		var hooks int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "webhooks_endpoints"}.Sanitize()).Scan(&hooks))
		require.Equal(t, 1, hooks, schema)
		var title string
		require.NoError(t, conn.QueryRow(ctx, "SELECT title FROM "+pgx.Identifier{schema, "inspections"}.Sanitize()).Scan(&title))
		require.Equal(t, c.title, title, schema)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Empty(t, entries)

	// The events went through EmitTx into acme's schema: two inspection
	// writes and /api/events.
	var events int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{pgSchema(ns, "acme-corp"), "webhooks_events"}.Sanitize()).Scan(&events))
	require.Equal(t, 3, events)

	checkRestart(t, ts, hookID, start)
}

// proxy forwards TCP connections to a server until cut.
type proxy struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	closed bool // set by cut: a connection accepted just before is closed, not kept
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				_, _ = c.Close(), u.Close()
				return
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// cut closes the listener and every connection: the server is unreachable.
func (p *proxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}
