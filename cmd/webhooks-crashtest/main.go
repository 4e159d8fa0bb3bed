// Command webhooks-crashtest proves that an event Emit acknowledged (returned
// nil for) is delivered at least once even when the process emitting and
// dispatching it dies with SIGKILL at any moment.
//
// A parent process runs a loopback receiver that verifies every signature
// and counts deliveries by event and by delivery ID. It starts a child (its
// own binary, re-executed) that emits events, journals each one (fsync)
// only after Emit returned nil, and runs a Dispatcher delivering to the
// receiver. The parent kills the child with SIGKILL at least -kills times,
// restarting it on the same store each time: while it emits, while a
// request is in flight (the receiver holds the request, the parent kills,
// then the request is answered 503 or never), right after the receiver
// answered 2xx (before the outcome reaches the store), and at random
// moments. A last child emits nothing new and runs until every journaled
// event has arrived and the store holds no outstanding delivery.
//
//	go run ./cmd/webhooks-crashtest -store sqlite
//	go run ./cmd/webhooks-crashtest -store postgres -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./cmd/webhooks-crashtest -store redis -redis-aof   # its own redis-server with appendonly yes
//	go run ./cmd/webhooks-crashtest -store redis -redis redis://127.0.0.1:6379/0
//
// It prints events emitted (journaled), delivered, lost and duplicated, and
// exits 1 when an acknowledged event was lost (or a signature failed to
// verify, or one event got two deliveries for one webhook).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if isChild() {
		os.Exit(childMain())
	}
	var o Options
	flag.StringVar(&o.Store, "store", "sqlite", "store to test: sqlite, postgres or redis")
	flag.IntVar(&o.Events, "events", 2000, "events to emit over all the killed children (at least 10 per kill)")
	flag.IntVar(&o.Kills, "kills", 8, "SIGKILLs of the child (at least 5)")
	flag.IntVar(&o.Webhooks, "webhooks", 2, "webhooks (receiver endpoints) subscribed to every event")
	flag.Int64Var(&o.Seed, "seed", 0, "seed of the kill plan (0: from the clock; printed)")
	flag.DurationVar(&o.Timeout, "timeout", 3*time.Minute, "deadline of the whole run")
	flag.StringVar(&o.PostgresDSN, "postgres", os.Getenv("WEBHOOKS_TEST_POSTGRES_URL"), "PostgreSQL DSN for -store postgres (a fresh schema is created and dropped)")
	flag.StringVar(&o.RedisURL, "redis", os.Getenv("WEBHOOKS_TEST_REDIS_URL"), "Redis URL for -store redis (a fresh key prefix, deleted at the end)")
	flag.BoolVar(&o.RedisAOF, "redis-aof", false, "-store redis: start a private redis-server with appendonly yes, appendfsync everysec on a free port instead of using -redis")
	flag.BoolVar(&o.RedisRestart, "redis-restart", true, "with -redis-aof: also SIGKILL and restart that redis-server once, after the last emit (waiting 2 s first: everysec may lose up to ~1 s of writes)")
	flag.StringVar(&o.WorkDir, "dir", "", "working directory for the SQLite file, journal and logs (default: a temporary one, removed unless the run fails)")
	flag.BoolVar(&o.Verbose, "v", false, "copy the children's log lines (warnings of the library) to stderr as well")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "webhooks-crashtest: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano()
	}
	o.Out = os.Stdout

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhooks-crashtest:", err)
		os.Exit(1)
	}
	if !res.OK() {
		os.Exit(1)
	}
}
