package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/internal/rediskeys"
	"github.com/webhookkit/webhooks/store/pgstore"
	"github.com/webhookkit/webhooks/store/redisstore"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/transport/sender"
)

// The dispatcher settings every child runs with: a short lease so that the
// deliveries a killed child held are taken over within seconds.
const (
	lease        = 3 * time.Second
	maxTimeout   = 2 * time.Second
	minTimeout   = 100 * time.Millisecond
	pollInterval = 100 * time.Millisecond
	eventType    = "order.created"
)

var registry = webhooks.MustNewRegistry(webhooks.EventType{Name: eventType, Category: "Orders"})

func dispatcherConfig(st webhooks.Store, log *slog.Logger) webhooks.Config {
	return webhooks.Config{
		Registry: registry,
		Store:    st,
		// The receiver is on loopback, which the SSRF guard refuses by default.
		Sender:       sender.New(&sender.Options{AllowPrivateNetworks: true}),
		Lease:        lease,
		Limits:       webhooks.Limits{MinTimeout: minTimeout, MaxTimeout: maxTimeout},
		PollInterval: pollInterval,
		RateLimit:    10000,
		// The receiver never fails on its own; should an attempt fail anyway,
		// retry soon rather than in a minute.
		Retry:  webhooks.RetryPolicy{Schedule: []time.Duration{200 * time.Millisecond}},
		Logger: log,
	}
}

// target says where the run's store lives; the parent prepares it and every
// child opens the same one.
type target struct {
	Kind        string `json:"kind"` // sqlite, postgres, redis
	SQLitePath  string `json:"sqlitePath,omitempty"`
	PostgresDSN string `json:"postgresDSN,omitempty"`
	Schema      string `json:"schema,omitempty"`
	RedisURL    string `json:"redisURL,omitempty"`
	Prefix      string `json:"prefix,omitempty"`
}

func (t target) String() string {
	switch t.Kind {
	case "sqlite":
		return "sqlite file " + t.SQLitePath
	case "postgres":
		return fmt.Sprintf("postgres schema %s at %s", t.Schema, redactDSN(t.PostgresDSN))
	default:
		return fmt.Sprintf("redis prefix %s at %s", t.Prefix, redactDSN(t.RedisURL))
	}
}

// redactDSN drops a password from a URL-style DSN for printing.
func redactDSN(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	creds, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if user, _, hasPass := strings.Cut(creds, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return dsn
}

// open opens the target's store; close releases it.
func (t target) open(ctx context.Context, log *slog.Logger) (st webhooks.Store, close func(), err error) {
	switch t.Kind {
	case "sqlite":
		s, err := sqlitestore.Open(ctx, t.SQLitePath, nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	case "postgres":
		s, err := pgstore.Open(ctx, t.PostgresDSN, &pgstore.Options{Schema: t.Schema, Logger: log})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	case "redis":
		opts, err := redis.ParseURL(t.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("redis URL: %w", err)
		}
		rdb := redis.NewClient(opts)
		if err := rdb.Ping(ctx).Err(); err != nil {
			_ = rdb.Close()
			return nil, nil, fmt.Errorf("redis at %s: %w", opts.Addr, err)
		}
		s, err := redisstore.New(rdb, &redisstore.Options{Prefix: t.Prefix, Logger: log})
		if err != nil {
			_ = rdb.Close()
			return nil, nil, err
		}
		return s, func() { _ = rdb.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unknown store %q", t.Kind)
}

// createWebhooks subscribes one webhook per receiver URL to every event,
// with the given secrets, and returns their IDs.
func (t target) createWebhooks(ctx context.Context, urls, secrets []string) error {
	st, closeStore, err := t.open(ctx, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer closeStore()
	d, err := webhooks.New(dispatcherConfig(st, slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	for i, u := range urls {
		_, err := d.CreateWebhook(ctx, "", webhooks.WebhookInput{
			Name:                     webhooks.Ptr(fmt.Sprintf("crashtest receiver %d", i+1)),
			URL:                      webhooks.Ptr(u),
			Events:                   []string{"*"},
			Secret:                   webhooks.Ptr(secrets[i]),
			Timeout:                  webhooks.Ptr(maxTimeout),
			AutoDisableAfterFailures: webhooks.Ptr(0),
		})
		if err != nil {
			return fmt.Errorf("creating webhook %d: %w", i+1, err)
		}
	}
	return nil
}

// environment is a prepared target plus what the run started for it.
type environment struct {
	target  target
	redis   *redisServer // -redis-aof
	cleanup func()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// prepare gives the run a store of its own: a file in dir, a fresh
// Postgres schema or Redis key prefix, or a private redis-server with AOF
// on. cleanup drops the schema, deletes the keys or stops the server.
func prepare(ctx context.Context, o Options, dir string) (*environment, error) {
	env := &environment{cleanup: func() {}}
	switch o.Store {
	case "sqlite":
		env.target = target{Kind: "sqlite", SQLitePath: filepath.Join(dir, "webhooks.db")}
	case "postgres":
		if o.PostgresDSN == "" {
			return nil, errors.New("-store postgres needs -postgres DSN (or WEBHOOKS_TEST_POSTGRES_URL)")
		}
		schema := "crashtest_" + randomHex(6)
		env.target = target{Kind: "postgres", PostgresDSN: o.PostgresDSN, Schema: schema}
		env.cleanup = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pool, err := pgxpool.New(ctx, o.PostgresDSN)
			if err == nil {
				_, err = pool.Exec(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
				pool.Close()
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "webhooks-crashtest: dropping schema %s: %v\n", schema, err)
			}
		}
	case "redis":
		prefix := fmt.Sprintf("crashtest-%d-%s", os.Getpid(), randomHex(4))
		if o.RedisAOF {
			srv, err := startRedisServer(ctx, filepath.Join(dir, "redis"))
			if err != nil {
				return nil, err
			}
			env.redis = srv
			env.target = target{Kind: "redis", RedisURL: srv.url(), Prefix: prefix}
			env.cleanup = srv.stop
			break
		}
		if o.RedisURL == "" {
			return nil, errors.New("-store redis needs -redis URL (or WEBHOOKS_TEST_REDIS_URL), or -redis-aof")
		}
		env.target = target{Kind: "redis", RedisURL: o.RedisURL, Prefix: prefix}
		env.cleanup = func() {
			if err := deleteRedisKeys(o.RedisURL, prefix); err != nil {
				fmt.Fprintf(os.Stderr, "webhooks-crashtest: deleting keys of prefix %s: %v\n", prefix, err)
			}
		}
	default:
		return nil, fmt.Errorf("-store %q: use sqlite, postgres or redis", o.Store)
	}
	return env, nil
}

// deleteRedisKeys deletes the keys of a prefix (SCAN MATCH and UNLINK,
// never FLUSHDB: the Redis may be shared).
func deleteRedisKeys(url, prefix string) error {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	st, err := redisstore.New(rdb, &redisstore.Options{Prefix: prefix})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rediskeys.Delete(ctx, rdb, st.KeyPrefix())
}

// redisServer is a private redis-server with appendonly yes and
// appendfsync everysec, on a free loopback port, its files in dir.
type redisServer struct {
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
}

func startRedisServer(ctx context.Context, dir string) (*redisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, fmt.Errorf("-redis-aof needs redis-server in PATH: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var last error
	for range 3 { // the free port may be taken between probing and binding
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s := &redisServer{dir: dir, port: port}
		if last = s.launch(ctx); last == nil {
			return s, nil
		}
	}
	return nil, last
}

func (s *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.port) }

// launch starts the server (again, after a kill: it reloads its AOF) and
// waits until it answers PING.
func (s *redisServer) launch(ctx context.Context) error {
	cmd := exec.Command("redis-server",
		"--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--daemonize", "no", "--logfile", "redis.log")
	setPdeathsig(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()

	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port), MaxRetries: -1})
	defer rdb.Close()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err() // LOADING while it replays the AOF
		cancel()
		if err == nil {
			break
		}
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server on port %d exited at start (see %s)", s.port, filepath.Join(s.dir, "redis.log"))
		case <-ctx.Done():
			s.kill()
			return ctx.Err()
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on port %d does not answer: %v", s.port, err)
		}
	}
	v, err := rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil || v["appendonly"] != "yes" {
		s.kill()
		return fmt.Errorf("redis-server on port %d: appendonly is %q (%v), want yes", s.port, v["appendonly"], err)
	}
	return nil
}

// kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *redisServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// stop shuts the server down (SIGTERM), killing it if it takes too long.
func (s *redisServer) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	tm := time.NewTimer(10 * time.Second)
	defer tm.Stop()
	select {
	case <-s.exited:
	case <-tm.C:
		s.kill()
	}
}

// keys counts the keys the server holds.
func (s *redisServer) keys(ctx context.Context) (int64, error) {
	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.port)})
	defer rdb.Close()
	return rdb.DBSize(ctx).Result()
}

// freePort returns a loopback TCP port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
