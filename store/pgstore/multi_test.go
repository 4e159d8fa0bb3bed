package pgstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/pgstore"
)

// Several dispatchers in separate processes share one schema. The test
// binary runs itself as the child processes: TestMain sees childEnv and
// runs childMain instead of the tests.
const (
	childEnv       = "PGSTORE_TEST_CHILD"
	childDSNEnv    = "PGSTORE_TEST_CHILD_DSN"
	childSchemaEnv = "PGSTORE_TEST_CHILD_SCHEMA"
)

// The children's timing: a short lease, so a killed child's claims lapse
// quickly; it must exceed Limits.MaxTimeout, and webhooks' timeouts fit it.
const (
	childLease      = 3 * time.Second
	childMaxTimeout = 2 * time.Second
)

// childMain runs a dispatcher on the schema named in the environment until
// its stdin closes, then stops it gracefully. It reports on stdout, one line
// each, the claims it made ("C id token"), completed ("D id token") and
// released ("R id token"), so the parent knows what it held when killed.
func childMain() int {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	st, err := pgstore.Open(ctx, os.Getenv(childDSNEnv), &pgstore.Options{
		Schema: os.Getenv(childSchemaEnv), Logger: logger, ReconnectMaxDelay: 500 * time.Millisecond,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	rec := &recorder{Store: st, w: bufio.NewWriter(os.Stdout)}
	snd := localSender()
	defer snd.Close()
	d, err := webhooks.New(webhooks.Config{
		Registry: registry, Store: rec, Logger: logger, Sender: snd,
		Lease: childLease, Limits: webhooks.Limits{MaxTimeout: childMaxTimeout},
		PollInterval: 200 * time.Millisecond, RateLimit: 1e6, MaxInFlightPerWebhook: 16, Workers: 64,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := d.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rec.line("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// recorder is a store that reports claims and their outcomes on stdout.
// Embedding *pgstore.Store keeps Listen (and WithTx).
type recorder struct {
	*pgstore.Store
	mu sync.Mutex
	w  *bufio.Writer
}

func (r *recorder) line(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.w, format+"\n", args...)
	_ = r.w.Flush()
}

func (r *recorder) Claim(ctx context.Context, p webhooks.ClaimParams) ([]*webhooks.ClaimedDelivery, error) {
	cl, err := r.Store.Claim(ctx, p)
	if len(cl) > 0 {
		var b strings.Builder
		for _, c := range cl {
			fmt.Fprintf(&b, "C %d %d\n", c.Delivery.ID, c.Token)
		}
		r.line("%s", strings.TrimSuffix(b.String(), "\n"))
	}
	return cl, err
}

func (r *recorder) Complete(ctx context.Context, cs []webhooks.Completion) (webhooks.CompleteResult, error) {
	res, err := r.Store.Complete(ctx, cs)
	if err == nil && len(cs) > 0 {
		stale := map[int64]bool{}
		for _, id := range res.Stale {
			stale[id] = true
		}
		var b strings.Builder
		for _, c := range cs {
			if !stale[c.DeliveryID] {
				fmt.Fprintf(&b, "D %d %d\n", c.DeliveryID, c.Token)
			}
		}
		if b.Len() > 0 {
			r.line("%s", strings.TrimSuffix(b.String(), "\n"))
		}
	}
	return res, err
}

func (r *recorder) Release(ctx context.Context, refs []webhooks.ClaimRef) error {
	err := r.Store.Release(ctx, refs)
	if err == nil && len(refs) > 0 {
		var b strings.Builder
		for _, c := range refs {
			fmt.Fprintf(&b, "R %d %d\n", c.DeliveryID, c.Token)
		}
		r.line("%s", strings.TrimSuffix(b.String(), "\n"))
	}
	return err
}

// child is a dispatcher process seen from the test.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	ready chan struct{}
	done  chan struct{} // stdout closed: the process is gone

	mu        sync.Mutex
	claimed   map[[2]int64]bool // (delivery, token)
	finished  map[[2]int64]bool // completed or released
	completed int
}

func startChild(t *testing.T, name, dsn, schema string) *child {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", childDSNEnv+"="+dsn, childSchemaEnv+"="+schema)
	cmd.Stderr = &prefixWriter{t: t, prefix: name + ": "}
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	c := &child{name: name, cmd: cmd, stdin: stdin, ready: make(chan struct{}), done: make(chan struct{}),
		claimed: map[[2]int64]bool{}, finished: map[[2]int64]bool{}}
	go c.read(stdout)
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
		_ = c.cmd.Wait()
	})
	select {
	case <-c.ready:
	case <-c.done:
		t.Fatalf("%s exited before it was ready", name)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready after 30s", name)
	}
	return c
}

func (c *child) read(r io.Reader) {
	defer close(c.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "ready" {
			close(c.ready)
			continue
		}
		if len(f) != 3 {
			continue
		}
		id, _ := strconv.ParseInt(f[1], 10, 64)
		tok, _ := strconv.ParseInt(f[2], 10, 64)
		k := [2]int64{id, tok}
		c.mu.Lock()
		switch f[0] {
		case "C":
			c.claimed[k] = true
		case "D":
			c.finished[k] = true
			c.completed++
		case "R":
			c.finished[k] = true
		}
		c.mu.Unlock()
	}
}

// claims returns the claims (delivery, token) the child reported and
// neither completed nor released.
func (c *child) claims() [][2]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][2]int64
	for k := range c.claimed {
		if !c.finished[k] {
			out = append(out, k)
		}
	}
	return out
}

// stillHeld returns the deliveries whose current claim is one of claims and
// is not completed: what a killed process held. (Its last lines may be
// missing; the database is the truth.)
func stillHeld(t *testing.T, schema string, claims [][2]int64) map[int64]bool {
	t.Helper()
	ids, tokens := make([]int64, len(claims)), make([]int64, len(claims))
	for i, c := range claims {
		ids[i], tokens[i] = c[0], c[1]
	}
	rows, err := sharedPool(t).Query(ctx, `SELECT d.id FROM "`+schema+`".webhooks_deliveries AS d
JOIN unnest($1::bigint[], $2::bigint[]) AS c(id, token) ON c.id = d.id AND c.token = d.token
WHERE d.lease_until IS NOT NULL`, ids, tokens)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		out[id] = true
	}
	require.NoError(t, rows.Err())
	return out
}

func (c *child) completions() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.completed
}

// stop closes stdin: the child stops gracefully and exits.
func (c *child) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.stdin.Close())
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not stop", c.name)
	}
	require.NoError(t, c.cmd.Wait(), "%s exit status", c.name)
}

// kill ends the child abruptly (SIGKILL): no drain, no release.
func (c *child) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGKILL))
	<-c.done
}

type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		w.t.Log(w.prefix + l)
	}
	return len(p), nil
}

// emitMany emits n events of prefix with 8 goroutines and returns their IDs.
func emitMany(t *testing.T, d *webhooks.Dispatcher, prefix string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				err := d.Emit(ctx, webhooks.Event{ID: fmt.Sprintf("%s-%05d", prefix, i), Type: "order.created",
					Data: webhooks.EventData{ID: i, Type: "Order"}})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// deliveryIDsOf lists the deliveries of the events whose ID starts with
// prefix and a dash (all events for ""), with their status.
func deliveryIDsOf(t *testing.T, schema, prefix string) map[int64]string {
	t.Helper()
	pattern := "%"
	if prefix != "" {
		pattern = prefix + "-%"
	}
	rows, err := sharedPool(t).Query(ctx, `SELECT d.id, d.status FROM "`+schema+`".webhooks_deliveries AS d
JOIN "`+schema+`".webhooks_events AS e ON e.id = d.event_pk WHERE e.event_id LIKE $1`, pattern)
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var status string
		require.NoError(t, rows.Scan(&id, &status))
		out[id] = status
	}
	require.NoError(t, rows.Err())
	return out
}

// Two dispatcher processes on one schema: 5,000 events to two webhooks
// arrive exactly once each. Then one process is killed mid-run: what it
// held is delivered by the other once the lease lapses; nothing is lost.
func TestSeveralDispatcherProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	u := testURL(t)
	schema := freshSchema(t)
	st, err := pgstore.New(ctx, sharedPool(t), &pgstore.Options{Schema: schema})
	require.NoError(t, err)
	rc := newReceiver(t)
	emitter := newDispatcher(t, webhooks.Config{Store: st}) // never started: emits only
	timeout := childMaxTimeout
	for _, path := range []string{"/a", "/b"} {
		addHook(t, emitter, rc.URL+path, webhooks.WebhookInput{Timeout: &timeout})
	}
	a := startChild(t, "child-a", u, schema)
	b := startChild(t, "child-b", u, schema)

	// Phase 1: both run to the end.
	const events = 5000
	began := time.Now()
	emitMany(t, emitter, "p1", events)
	want := deliveryIDsOf(t, schema, "p1")
	require.Len(t, want, 2*events)
	waitFor(t, "phase 1 deliveries", 60*time.Second, func() bool { return rc.distinct() >= len(want) })
	elapsed := time.Since(began)
	waitFor(t, "phase 1 outcomes recorded", 10*time.Second, func() bool {
		for _, status := range deliveryIDsOf(t, schema, "p1") {
			if status != "SUCCESS" {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond) // room for a late duplicate to show
	counts := rc.counts()
	var dups []int64
	for id := range want {
		switch counts[id] {
		case 1:
		case 0:
			t.Errorf("delivery %d lost", id)
		default:
			dups = append(dups, id)
		}
	}
	require.Empty(t, dups, "duplicates in phase 1")
	var maxPhase1 int64
	for id := range want {
		maxPhase1 = max(maxPhase1, id)
	}
	t.Logf("phase 1: %d deliveries in %s (%.0f/s); child-a completed %d, child-b %d",
		len(want), elapsed.Round(time.Millisecond), float64(len(want))/elapsed.Seconds(), a.completions(), b.completions())
	require.Positive(t, a.completions(), "child-a took part")
	require.Positive(t, b.completions(), "child-b took part")

	// Phase 2: a slower receiver, so requests are in flight; kill child-a
	// mid-run.
	rc.setDelay(50 * time.Millisecond)
	const events2 = 1500
	emitted := make(chan struct{})
	go func() {
		defer close(emitted)
		emitMany(t, emitter, "p2", events2)
	}()
	seen := func() int {
		n := 0
		for id, c := range rc.counts() {
			if id > maxPhase1 && c > 0 {
				n++
			}
		}
		return n
	}
	// Kill child-a while it holds claims: under a loaded CI machine it can
	// momentarily hold none, which would leave nothing to recover.
	waitFor(t, "phase 2 under way, child-a holding claims", 30*time.Second, func() bool {
		return seen() >= events2/2 && len(a.claims()) > 0
	})
	a.kill(t)
	killed := time.Now()
	// A statement the process sent just before it died still runs to the
	// end on the server; give it a moment (well within the lease).
	time.Sleep(500 * time.Millisecond)
	held := stillHeld(t, schema, a.claims())
	t.Logf("killed child-a after %d of %d phase-2 deliveries arrived; it held %d", seen(), 2*events2, len(held))
	<-emitted
	want2 := deliveryIDsOf(t, schema, "p2")
	require.Len(t, want2, 2*events2)
	require.NotEmpty(t, held, "child-a held claims when killed")

	waitFor(t, "phase 2 deliveries", 40*time.Second, func() bool { return seen() == len(want2) })
	waitFor(t, "phase 2 outcomes recorded", 10*time.Second, func() bool {
		for _, status := range deliveryIDsOf(t, schema, "p2") {
			if status != "SUCCESS" {
				return false
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	counts = rc.counts()
	rc.mu.Lock()
	last := make(map[int64]time.Time, len(rc.last))
	for k, v := range rc.last {
		last[k] = v
	}
	rc.mu.Unlock()
	var lost, dup2 []int64
	for id := range want2 {
		switch c := counts[id]; {
		case c == 0:
			lost = append(lost, id)
		case c > 1:
			dup2 = append(dup2, id)
			require.True(t, held[id], "duplicate %d was not one child-a held", id)
		}
	}
	require.Empty(t, lost, "lost deliveries")
	var recovered time.Duration
	for id := range held {
		require.False(t, last[id].Before(killed), "held delivery %d: not delivered again after the kill", id)
		recovered = max(recovered, last[id].Sub(killed))
	}
	sort.Slice(dup2, func(i, j int) bool { return dup2[i] < dup2[j] })
	t.Logf("phase 2: all %d delivered; the held ones by %s after the kill (lease %s); %d held by child-a, all delivered by child-b; %d duplicates (sent by child-a, outcome not yet recorded when it died): %v",
		len(want2), recovered.Round(time.Millisecond), childLease, len(held), len(dup2), dup2)
	b.stop(t)
}
