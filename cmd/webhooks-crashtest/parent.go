package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// killKind is when a child is killed.
type killKind int

const (
	killEmit   killKind = iota // while it emits (Emit calls in flight)
	killHTTP                   // while a request is in flight, before the receiver answers
	kill2xx                    // right after the receiver answered 2xx, before the outcome is stored
	killRandom                 // after a random delay from its start
	numKinds
)

func (k killKind) String() string {
	return [...]string{"during emit", "during the HTTP call", "after the 2xx, before the store write", "at a random moment"}[k]
}

func (k killKind) short() string {
	return [...]string{"emit", "http", "after-2xx", "random"}[k]
}

// Options configure a run.
type Options struct {
	Store        string // sqlite, postgres, redis
	Events       int    // events to emit over all killed children
	Kills        int    // SIGKILLs, at least 5
	Webhooks     int    // receiver endpoints subscribed to every event
	Seed         int64
	Timeout      time.Duration // whole run; 0: none
	PostgresDSN  string
	RedisURL     string
	RedisAOF     bool // start a private redis-server with AOF on
	RedisRestart bool // with RedisAOF: SIGKILL and restart it once, after the last emit
	WorkDir      string
	Verbose      bool
	Out          io.Writer

	// fakeEvery makes children journal every fakeEvery-th event without
	// emitting it (tests: the harness must report those as lost).
	fakeEvery int
}

// Result is what a run found.
type Result struct {
	Store      string
	Requested  int // events the killed children were to emit
	Journaled  int // events acknowledged (Emit returned nil) and journaled
	Webhooks   int
	Expected   int // Journaled × Webhooks
	Delivered  int // of Expected, answered 2xx at least once
	Lost       int // of Expected, never delivered
	LostSample []string
	Duplicated int // requests answered 2xx beyond the first per event and webhook
	// Unacked counts events delivered though never journaled: stored by an
	// Emit whose child died before it returned or before the journal write.
	Unacked int

	Kills          [numKinds]int
	CutHTTP        int // requests held by a killHTTP trigger, never answered 2xx
	CutDelivered   int // ... of which the delivery arrived later
	After2xx       int // kill2xx kills
	After2xxResent int // ... whose delivery (same delivery ID) was sent again

	EmitFailures     int // Emit kept failing (not journaled)
	Invalid          int // signature failures
	Malformed        int // requests without event or delivery ID
	Mismatch         int // a delivery ID seen with two different events or webhooks
	DoubleEnqueued   int // extra delivery IDs for one event and webhook
	FailedDeliveries int // FAILED in the store at the end
	ChildProblems    []string
	RedisRestart     string
	DeadlinePassed   bool
	Elapsed          time.Duration
}

// TotalKills sums the kills of every kind.
func (r *Result) TotalKills() int {
	n := 0
	for _, k := range r.Kills {
		n += k
	}
	return n
}

// OK reports whether every acknowledged event arrived, every signature
// verified, and no event got two deliveries for one webhook.
func (r *Result) OK() bool {
	return r.Lost == 0 && r.Invalid == 0 && r.Malformed == 0 && r.Mismatch == 0 &&
		r.DoubleEnqueued == 0 && len(r.ChildProblems) == 0
}

// child is one child process.
type child struct {
	life    int
	cmd     *exec.Cmd
	started time.Time
	notify  chan struct{} // something below changed
	exited  chan struct{} // closed once it has exited

	mu                  sync.Mutex
	ready, emitted      bool
	stopped             bool
	acked, emitFailed   int
	lastAck             time.Time
	pending, failed     int // last outstanding report
	reports, zeroStreak int // outstanding reports; consecutive ones with nothing pending
	killedAt            time.Time
	exitErr             error
	killOnce            sync.Once
}

func (c *child) kill() {
	c.killOnce.Do(func() {
		c.mu.Lock()
		c.killedAt = time.Now()
		c.mu.Unlock()
		_ = c.cmd.Process.Kill() // SIGKILL
	})
}

func (c *child) done() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// emittedAtLeast reports whether k events of the child are journaled, or
// it has finished emitting (some Emit calls may have failed), or exited.
func (c *child) emittedAtLeast(k int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked >= k || c.emitted || c.done()
}

// read follows the child's reports on stdout until it exits.
func (c *child) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		c.mu.Lock()
		switch {
		case f[0] == "ready":
			c.ready = true
		case f[0] == "acked" && len(f) == 2:
			c.acked, _ = strconv.Atoi(f[1])
			c.lastAck = time.Now()
		case f[0] == "emit-failed":
			c.emitFailed++
		case f[0] == "emitted":
			c.emitted = true
		case f[0] == "outstanding" && len(f) == 3:
			c.pending, _ = strconv.Atoi(f[1])
			c.failed, _ = strconv.Atoi(f[2])
			c.reports++
			if c.pending == 0 {
				c.zeroStreak++
			} else {
				c.zeroStreak = 0
			}
		case f[0] == "stopped":
			c.stopped = true
		}
		c.mu.Unlock()
		poke(c.notify)
	}
	_, _ = io.Copy(io.Discard, r)
	err := c.cmd.Wait()
	c.mu.Lock()
	c.exitErr = err
	c.mu.Unlock()
	close(c.exited)
	poke(c.notify)
}

type parent struct {
	o       Options
	out     io.Writer
	exe     string
	env     *environment
	rc      *receiver
	rng     *rand.Rand
	journal string
	logPath string
	logW    io.Writer
	next    int // index of the next event to emit
	lastAck time.Time
	trigs   []*trigger
	res     Result
}

var errTimeout = errors.New("timed out")

// await waits until cond holds, checking again whenever ch signals.
func await(ctx context.Context, ch <-chan struct{}, within time.Duration, cond func() bool) error {
	tm := time.NewTimer(within)
	defer tm.Stop()
	for !cond() {
		select {
		case <-ch:
		case <-tm.C:
			return errTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Run performs one crash test and prints its report to o.Out.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Webhooks == 0 {
		o.Webhooks = 2
	}
	switch {
	case o.Kills < 5:
		return nil, fmt.Errorf("-kills %d: at least 5", o.Kills)
	case o.Events < 10*o.Kills:
		return nil, fmt.Errorf("-events %d: at least 10 per kill (%d)", o.Events, 10*o.Kills)
	case o.Webhooks < 1 || o.Webhooks > 20:
		return nil, fmt.Errorf("-webhooks %d: 1 to 20", o.Webhooks)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	began := time.Now()
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, ownDir := o.WorkDir, false
	if dir == "" {
		if dir, err = os.MkdirTemp("", "webhooks-crashtest-"); err != nil {
			return nil, err
		}
		ownDir = true
	}
	keepDir := true // unless the run passes
	defer func() {
		if ownDir && !keepDir {
			_ = os.RemoveAll(dir)
		} else if ownDir {
			fmt.Fprintf(o.Out, "files kept in %s (journal.txt, children.log)\n", dir)
		}
	}()

	p := &parent{
		o: o, out: o.Out, exe: exe, next: 1,
		rng:     rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Seed)^0x9e3779b97f4a7c15)),
		journal: filepath.Join(dir, "journal.txt"),
		logPath: filepath.Join(dir, "children.log"),
		res:     Result{Store: o.Store, Requested: o.Events, Webhooks: o.Webhooks},
	}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	p.logW = logFile
	if o.Verbose {
		p.logW = io.MultiWriter(logFile, os.Stderr)
	}

	if p.env, err = prepare(ctx, o, dir); err != nil {
		return nil, err
	}
	defer p.env.cleanup()
	if p.rc, err = startReceiver(o.Webhooks); err != nil {
		return nil, err
	}
	defer p.rc.close()
	urls := make([]string, o.Webhooks)
	for i := range urls {
		urls[i] = p.rc.url(i + 1)
	}
	if err := p.env.target.createWebhooks(ctx, urls, p.rc.secrets); err != nil {
		return nil, fmt.Errorf("setting up %s: %w", p.env.target, err)
	}

	plan := p.plan()
	names := make([]string, len(plan))
	for i, k := range plan {
		names[i] = k.short()
	}
	fmt.Fprintf(p.out, "webhooks-crashtest: %s\n", p.env.target)
	fmt.Fprintf(p.out, "%d events, %d kills, %d webhooks, seed %d; children: lease %s, webhook timeout %s, poll %s, %d emitters\n",
		o.Events, o.Kills, o.Webhooks, o.Seed, lease, maxTimeout, pollInterval, emitters)
	fmt.Fprintf(p.out, "kill plan: %s\n", strings.Join(names, ", "))

	for life, kind := range plan {
		if err := p.killableLife(ctx, life, kind); err != nil {
			return nil, p.childFailure(err)
		}
	}
	if p.env.redis != nil && o.RedisRestart {
		if err := p.restartRedis(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.finalLife(ctx, len(plan)); err != nil {
		return nil, p.childFailure(err)
	}
	if err := p.tally(); err != nil {
		return nil, err
	}
	p.res.Elapsed = time.Since(began)
	p.res.print(p.out)
	keepDir = !p.res.OK()
	return &p.res, nil
}

// childFailure adds the tail of the children's log to err.
func (p *parent) childFailure(err error) error {
	b, _ := os.ReadFile(p.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return fmt.Errorf("%w\nlast lines of %s:\n%s", err, p.logPath, strings.Join(lines, "\n"))
}

// plan orders the kills: each of emit, http and after-2xx at least once,
// the rest drawn from every kind, shuffled.
func (p *parent) plan() []killKind {
	kinds := []killKind{killEmit, killHTTP, kill2xx}
	for len(kinds) < p.o.Kills {
		kinds = append(kinds, killKind(p.rng.IntN(int(numKinds))))
	}
	p.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	return kinds
}

func (p *parent) startChild(life int, cfg childConfig) (*child, error) {
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.exe)
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Stderr = p.logW
	setPdeathsig(cmd)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{life: life, cmd: cmd, notify: make(chan struct{}, 1), exited: make(chan struct{}), pending: -1}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting child %d: %w", life+1, err)
	}
	c.started = time.Now()
	go c.read(stdout)
	return c, nil
}

// diedOnItsOwn is the error for a child that exited without being killed.
func (c *child) diedOnItsOwn() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("child %d (pid %d) exited on its own: %v", c.life+1, c.cmd.Process.Pid, c.exitErr)
}

// killableLife runs one child that emits its share of the events and kills
// it the way kind says.
func (p *parent) killableLife(ctx context.Context, life int, kind killKind) error {
	left := p.o.Kills - life
	remaining := p.o.Events - (p.next - 1)
	quota := (remaining + left - 1) / left
	start := p.next
	// A kill can miss its kind (the parent was too slow and the child had
	// finished emitting): if only as many lives are left as required kinds
	// not yet done, take one of those.
	var uncovered []killKind
	for _, k := range []killKind{killEmit, killHTTP, kill2xx} {
		if p.res.Kills[k] == 0 {
			uncovered = append(uncovered, k)
		}
	}
	if len(uncovered) >= left && !slices.Contains(uncovered, kind) {
		kind = uncovered[0]
	}
	// An emit kill leaves a margin of events still to emit when it is
	// decided, so that Emit calls are in flight when it lands.
	margin := max(2*emitters, quota/3)
	if kind == killEmit && quota <= margin {
		kind = killRandom // too few events left to kill in the middle of them
	}
	c, err := p.startChild(life, childConfig{Target: p.env.target, Journal: p.journal, Start: start, Count: quota,
		FakeEvery: p.o.fakeEvery})
	if err != nil {
		return err
	}
	defer c.kill() // error paths
	p.rc.setGen(life)

	var how string
	var trig *trigger
	switch kind {
	case killEmit:
		k := 1 + p.rng.IntN(quota-margin)
		err := await(ctx, c.notify, time.Minute, func() bool { return c.emittedAtLeast(k) })
		if err != nil {
			return fmt.Errorf("child %d: waiting for %d acknowledged emits: %w", life+1, k, err)
		}
		if c.done() {
			return c.diedOnItsOwn()
		}
		c.kill()
		how = fmt.Sprintf("once %d emits were acknowledged", k)
	case killHTTP, kill2xx:
		// Arm while emitting, or after (deliveries still flowing).
		k := p.rng.IntN(quota + 1)
		err := await(ctx, c.notify, time.Minute, func() bool { return c.emittedAtLeast(k) })
		if err != nil {
			return fmt.Errorf("child %d: waiting for %d acknowledged emits: %w", life+1, k, err)
		}
		if c.done() {
			return c.diedOnItsOwn()
		}
		trig = &trigger{kind: kind, gen: life, kill: c.kill, exited: c.exited, fired: make(chan struct{}),
			never: kind == killHTTP && p.rng.IntN(2) == 0}
		p.rc.arm(trig)
		tm := time.NewTimer(15 * time.Second)
		select {
		case <-trig.fired:
		case <-c.exited:
		case <-ctx.Done():
		case <-tm.C:
		}
		tm.Stop()
		if !p.rc.disarmIf(trig) { // taken by a request: it kills (or has killed)
			waitClosed(trig.fired, 10*time.Second)
		} else {
			if c.done() {
				return c.diedOnItsOwn()
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.kill()
			how = "(no request arrived within 15 s after arming)"
			kind, trig = killRandom, nil
		}
	case killRandom:
		delay := time.Duration(p.rng.Int64N(int64(500 * time.Millisecond)))
		tm := time.NewTimer(time.Until(c.started.Add(delay)))
		select {
		case <-tm.C:
		case <-c.exited:
		case <-ctx.Done():
		}
		tm.Stop()
		if c.done() {
			return c.diedOnItsOwn()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.kill()
		how = fmt.Sprintf("%s after the child started", delay.Round(time.Millisecond))
	}

	waitClosed(c.exited, 10*time.Second)
	if !c.done() {
		return fmt.Errorf("child %d (pid %d) still runs 10 s after SIGKILL", life+1, c.cmd.Process.Pid)
	}
	p.rc.setGen(-1)
	p.rc.disarm()
	// The dead child's connections close: requests of the next child
	// cannot be mistaken for its.
	if err := await(ctx, p.rc.conns, 10*time.Second, func() bool { return p.rc.openConns() == 0 }); err != nil {
		fmt.Fprintf(p.out, "  (warning: %d receiver connections still open 10 s after the kill)\n", p.rc.openConns())
	}

	ids, maxIndex, err := readJournal(p.journal)
	if err != nil {
		return err
	}
	journaled := 0
	for id := range ids {
		if i := eventIndex(id); i >= start && i < start+quota {
			journaled++
		}
	}
	p.next = max(p.next, maxIndex+1)
	c.mu.Lock()
	if c.lastAck.After(p.lastAck) {
		p.lastAck = c.lastAck
	}
	p.res.EmitFailures += c.emitFailed
	emitFailed, killedAfter := c.emitFailed, c.killedAt.Sub(c.started)
	c.mu.Unlock()
	if kind == killEmit && journaled+emitFailed >= quota {
		// The parent was too slow: every event was emitted before the kill.
		kind, how = killRandom, "(meant during emit, but emitting had finished)"
	}
	p.res.Kills[kind]++

	switch kind {
	case killEmit:
		how = fmt.Sprintf("%s, with %d of its events not acknowledged", how, quota-journaled)
	case killHTTP:
		answer := "answered 503 after the kill"
		if trig.never {
			answer = "never answered"
		}
		how = fmt.Sprintf("request of delivery %d (%s to hook %d) held, SIGKILL, then %s", trig.delivery, trig.at.event, trig.at.hook, answer)
		p.trigs = append(p.trigs, trig)
	case kill2xx:
		how = fmt.Sprintf("delivery %d (%s to hook %d) answered 200, then SIGKILL", trig.delivery, trig.at.event, trig.at.hook)
		p.trigs = append(p.trigs, trig)
	}
	share := "no events left"
	if quota > 0 {
		share = fmt.Sprintf("events %d-%d", start, start+quota-1)
	}
	fmt.Fprintf(p.out, "child %d/%d pid %-7d %s: %d journaled; SIGKILL %s at +%s: %s\n",
		life+1, p.o.Kills+1, c.cmd.Process.Pid, share, journaled, kind,
		killedAfter.Round(time.Millisecond), how)
	return nil
}

// restartRedis SIGKILLs the private redis-server and restarts it from its
// AOF. With appendfsync everysec the last second of writes may be lost in
// a crash, so it first waits until 2 s have passed since the last
// acknowledged emit: what Emit acknowledged before then must survive.
func (p *parent) restartRedis(ctx context.Context) error {
	since := time.Since(p.lastAck)
	if wait := 2*time.Second - since; wait > 0 {
		tm := time.NewTimer(wait) // everysec's window, not waiting for work
		select {
		case <-tm.C:
		case <-ctx.Done():
			tm.Stop()
			return ctx.Err()
		}
	}
	since = time.Since(p.lastAck)
	p.env.redis.kill()
	if err := p.env.redis.launch(ctx); err != nil {
		return fmt.Errorf("restarting redis-server: %w", err)
	}
	n, err := p.env.redis.keys(ctx)
	if err != nil {
		return fmt.Errorf("redis-server after restart: %w", err)
	}
	p.res.RedisRestart = fmt.Sprintf("SIGKILLed %s after the last acknowledged emit (appendfsync everysec), restarted: %d keys reloaded from the AOF",
		since.Round(100*time.Millisecond), n)
	fmt.Fprintf(p.out, "redis-server (AOF on) %s\n", p.res.RedisRestart)
	return nil
}

// finalLife runs a child that emits nothing new until every journaled event
// has arrived at every webhook and its store holds no outstanding delivery,
// or the deadline passes; then stops it with SIGTERM.
func (p *parent) finalLife(ctx context.Context, life int) error {
	ids, _, err := readJournal(p.journal)
	if err != nil {
		return err
	}
	c, err := p.startChild(life, childConfig{Target: p.env.target, Journal: p.journal, Start: p.next, Final: true})
	if err != nil {
		return err
	}
	defer c.kill() // error paths
	p.rc.setGen(life)
	waitStart := time.Now()
	err = await(ctx, c.notify, 24*time.Hour, func() bool {
		if c.done() {
			return true
		}
		c.mu.Lock()
		pending, zeros := c.pending, c.zeroStreak
		c.mu.Unlock()
		// Nothing pending: nothing more will be sent. Give a missing delivery
		// a few reports (half a second) before calling it lost.
		return pending == 0 && (p.rc.missing(ids, p.o.Webhooks) == 0 || zeros >= 5)
	})
	if c.done() {
		return c.diedOnItsOwn()
	}
	if err != nil {
		p.res.DeadlinePassed = true
	}
	c.mu.Lock()
	p.res.FailedDeliveries = c.failed
	pending := c.pending
	c.mu.Unlock()
	waited := time.Since(waitStart)

	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	waitClosed(c.exited, 20*time.Second)
	if !c.done() {
		c.kill()
		<-c.exited
		p.res.ChildProblems = append(p.res.ChildProblems, "the final child did not stop within 20 s of SIGTERM")
	}
	c.mu.Lock()
	if c.exitErr != nil || !c.stopped {
		p.res.ChildProblems = append(p.res.ChildProblems, fmt.Sprintf("the final child did not stop cleanly: %v", c.exitErr))
	}
	c.mu.Unlock()
	state := "every journaled event delivered to every webhook, nothing outstanding in the store"
	if m := p.rc.missing(ids, p.o.Webhooks); m > 0 || pending != 0 {
		state = fmt.Sprintf("%d deliveries missing, %d outstanding in the store", m, pending)
	}
	if p.res.DeadlinePassed {
		state += " (deadline passed)"
	}
	fmt.Fprintf(p.out, "child %d/%d pid %-7d emits nothing: %s after %s; SIGTERM, stopped\n",
		life+1, p.o.Kills+1, c.cmd.Process.Pid, state, waited.Round(time.Millisecond))
	return nil
}

// tally compares the journal with what the receiver accepted.
func (p *parent) tally() error {
	ids, _, err := readJournal(p.journal)
	if err != nil {
		return err
	}
	r, rc := &p.res, p.rc
	r.Journaled = len(ids)
	r.Expected = len(ids) * p.o.Webhooks
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id := range ids {
		for h := 1; h <= p.o.Webhooks; h++ {
			if rc.accepted[pair{id, h}] > 0 {
				r.Delivered++
			} else {
				r.Lost++
				r.LostSample = append(r.LostSample, fmt.Sprintf("%s→hook %d", id, h))
			}
		}
	}
	slices.Sort(r.LostSample)
	r.LostSample = r.LostSample[:min(len(r.LostSample), 10)]
	unacked := map[string]bool{}
	for at, n := range rc.accepted {
		r.Duplicated += n - 1
		if !ids[at.event] {
			unacked[at.event] = true
		}
		r.DoubleEnqueued += len(rc.ids[at]) - 1
	}
	r.Unacked = len(unacked)
	r.Invalid, r.Malformed, r.Mismatch = rc.invalid, rc.malformed, rc.mismatch
	for _, t := range p.trigs {
		switch t.kind {
		case killHTTP:
			r.CutHTTP++
			if rc.accepted[t.at] > 0 {
				r.CutDelivered++
			}
		case kill2xx:
			r.After2xx++
			if rc.delivered[t.delivery] > 1 {
				r.After2xxResent++
			}
		}
	}
	// A child built with -race reports races on stderr, even when killed.
	if b, err := os.ReadFile(p.logPath); err == nil {
		if n := bytes.Count(b, []byte("WARNING: DATA RACE")); n > 0 {
			r.ChildProblems = append(r.ChildProblems, fmt.Sprintf("%d data race reports in %s", n, p.logPath))
		}
		if n := bytes.Count(b, []byte("\npanic: ")); n > 0 {
			r.ChildProblems = append(r.ChildProblems, fmt.Sprintf("%d panics in %s", n, p.logPath))
		}
	}
	return nil
}

func (r *Result) print(w io.Writer) {
	row := func(name, format string, args ...any) {
		fmt.Fprintf(w, "  %-32s %s\n", name, fmt.Sprintf(format, args...))
	}
	fmt.Fprintln(w)
	row("events emitted (journaled)", "%d of %d planned (the rest were cut off by kills before Emit returned, or never started)", r.Journaled, r.Requested)
	row("deliveries expected", "%d (%d events × %d webhooks)", r.Expected, r.Journaled, r.Webhooks)
	row("delivered (unique)", "%d", r.Delivered)
	lost := fmt.Sprintf("%d", r.Lost)
	if r.Lost > 0 {
		lost += " (e.g. " + strings.Join(r.LostSample, ", ") + ")"
	}
	row("lost", "%s", lost)
	row("duplicated", "%d (requests answered 2xx beyond the first per event and webhook)", r.Duplicated)
	kinds := make([]string, 0, numKinds)
	for k := range numKinds {
		kinds = append(kinds, fmt.Sprintf("%s %d", k.short(), r.Kills[k]))
	}
	row("kills (SIGKILL)", "%d: %s", r.TotalKills(), strings.Join(kinds, ", "))
	row("  HTTP calls cut by a kill", "%d, delivered later: %d", r.CutHTTP, r.CutDelivered)
	row("  after-2xx kills sent again", "%d of %d (the same delivery ID arrived again: the kill beat the store write)", r.After2xxResent, r.After2xx)
	row("delivered, never acknowledged", "events: %d (stored by an Emit cut short by a kill: not a loss)", r.Unacked)
	if r.RedisRestart != "" {
		row("redis-server", "%s", r.RedisRestart)
	}
	row("emit errors", "%d", r.EmitFailures)
	row("failed deliveries in the store", "%d", r.FailedDeliveries)
	row("signature failures", "%d", r.Invalid+r.Malformed)
	row("delivery ID inconsistencies", "%d (one event and webhook with two delivery IDs, or the reverse)", r.DoubleEnqueued+r.Mismatch)
	for _, pr := range r.ChildProblems {
		row("problem", "%s", pr)
	}
	row("elapsed", "%s", r.Elapsed.Round(10*time.Millisecond))
	if r.OK() {
		row("result", "PASS: every acknowledged event was delivered")
	} else {
		row("result", "FAIL")
	}
}

func eventIndex(id string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "evt-"))
	if err != nil || !strings.HasPrefix(id, "evt-") {
		return -1
	}
	return i
}

// readJournal returns the journaled event IDs and the highest index. A
// last line without its newline was torn by a kill in the middle of the
// write: that event was never journaled, so the line is cut off.
func readJournal(path string) (map[string]bool, int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		if err := os.Truncate(path, int64(i+1)); err != nil {
			return nil, 0, err
		}
		b = b[:i+1]
	}
	ids := map[string]bool{}
	maxIndex := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if line == "" {
			continue
		}
		i := eventIndex(line)
		if i < 0 {
			return nil, 0, fmt.Errorf("journal %s: bad line %q", path, line)
		}
		ids[line] = true
		maxIndex = max(maxIndex, i)
	}
	return ids, maxIndex, nil
}
