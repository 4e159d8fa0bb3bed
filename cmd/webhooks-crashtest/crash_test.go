package main

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// The children of these tests are the test binary itself, re-executed with
// childEnv set (under -race they check the library for races too).
func TestMain(m *testing.M) {
	if isChild() {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// serviceURL returns the URL in env. Without one the test is skipped, or
// fails when WEBHOOKS_REQUIRE_SERVICES=1 (CI).
func serviceURL(t *testing.T, env string) string {
	t.Helper()
	u := os.Getenv(env)
	if u == "" {
		if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s is not set but WEBHOOKS_REQUIRE_SERVICES=1", env)
		}
		t.Skipf("set %s to run this crash test", env)
	}
	return u
}

// short runs the short crash test: 300 events, 5 kills, 2 webhooks.
func short(t *testing.T, o Options) *Result {
	t.Helper()
	o.Events, o.Kills, o.Webhooks = 300, 5, 2
	o.Seed = time.Now().UnixNano()
	o.Timeout = time.Minute // a run takes seconds; this only bounds a hang
	o.WorkDir = t.TempDir()
	o.Out = t.Output()
	t.Logf("seed %d: go run ./cmd/webhooks-crashtest -store %s -events %d -kills %d -seed %d reruns this plan",
		o.Seed, o.Store, o.Events, o.Kills, o.Seed)
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkPassed asserts that nothing acknowledged was lost and that every
// kind of kill happened.
func checkPassed(t *testing.T, res *Result) {
	t.Helper()
	if res.Lost > 0 {
		t.Errorf("%d of %d acknowledged deliveries lost, e.g. %v", res.Lost, res.Expected, res.LostSample)
	}
	if !res.OK() {
		t.Errorf("run failed: signatures %d, malformed %d, delivery ID mismatches %d, double enqueues %d, child problems %v",
			res.Invalid, res.Malformed, res.Mismatch, res.DoubleEnqueued, res.ChildProblems)
	}
	if res.Journaled == 0 {
		t.Error("no event was journaled")
	}
	if res.TotalKills() < 5 {
		t.Errorf("%d kills, want at least 5", res.TotalKills())
	}
	for _, k := range []killKind{killEmit, killHTTP, kill2xx} {
		if res.Kills[k] == 0 {
			t.Errorf("no kill %s (kills: %v)", k, res.Kills)
		}
	}
	// A request cut by a kill was stored (it was being sent): it must come
	// again, journaled or not.
	if res.CutDelivered != res.CutHTTP {
		t.Errorf("%d requests cut by a kill, only %d delivered later", res.CutHTTP, res.CutDelivered)
	}
	t.Logf("journaled %d, delivered %d of %d, duplicated %d, kills %v, %s",
		res.Journaled, res.Delivered, res.Expected, res.Duplicated, res.Kills, res.Elapsed.Round(time.Millisecond))
}

func TestCrashSQLite(t *testing.T) {
	checkPassed(t, short(t, Options{Store: "sqlite"}))
}

func TestCrashPostgres(t *testing.T) {
	dsn := serviceURL(t, "WEBHOOKS_TEST_POSTGRES_URL")
	checkPassed(t, short(t, Options{Store: "postgres", PostgresDSN: dsn}))
}

// TestCrashRedisAOF runs on a private redis-server with appendonly yes and
// appendfsync everysec (WEBHOOKS_TEST_REDIS_URL only says Redis is to be
// tested; the shared server has persistence off and is never restarted),
// and also SIGKILLs and restarts that server once, after the last emit.
func TestCrashRedisAOF(t *testing.T) {
	serviceURL(t, "WEBHOOKS_TEST_REDIS_URL")
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("WEBHOOKS_REQUIRE_SERVICES") == "1" {
			t.Fatalf("redis-server is not in PATH but WEBHOOKS_REQUIRE_SERVICES=1: %v", err)
		}
		t.Skipf("redis-server is not in PATH: %v", err)
	}
	res := short(t, Options{Store: "redis", RedisAOF: true, RedisRestart: true})
	checkPassed(t, res)
	if res.RedisRestart == "" {
		t.Error("redis-server was not restarted")
	}
}

// TestHarnessDetectsLoss journals some events without emitting them: the
// run must report them lost and fail, or a passing run would prove nothing.
func TestHarnessDetectsLoss(t *testing.T) {
	o := Options{Store: "sqlite", Events: 100, Kills: 5, Webhooks: 2, Seed: 1, Timeout: time.Minute,
		WorkDir: t.TempDir(), Out: t.Output(), fakeEvery: 7}
	res, err := Run(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lost == 0 || res.OK() {
		t.Fatalf("events journaled but never emitted went unnoticed: lost %d, OK %v", res.Lost, res.OK())
	}
	if res.Lost%o.Webhooks != 0 {
		t.Errorf("lost %d: want whole events (a multiple of %d webhooks)", res.Lost, o.Webhooks)
	}
}
