package webhooks

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/webhookkit/webhooks/transport/sender"
)

// The delivery pipeline: fetchLoop claims due deliveries from every client's
// store into per-webhook lanes; lane goroutines pace and send them;
// completeLoop records outcomes in batches.

// job is one claimed delivery on its way to being sent.
type job struct {
	client string
	store  Store
	claim  *ClaimedDelivery
	// event is claim.Payload decoded, shared by the event's jobs of one
	// claim or emit; nil: decode it when sending.
	event *Event
}

// result is a job's outcome: a completion to record; or release, to give
// the claim back unsent; or skip, to record nothing (the lease will lapse and
// the delivery will be claimed again).
type result struct {
	job        *job
	completion Completion
	release    bool
	skip       bool
}

// maxClaimed bounds deliveries held in memory between claim and completion.
func (d *Dispatcher) maxClaimed() int { return d.cfg.Workers + d.cfg.ClaimBatch }

func (d *Dispatcher) fetchLoop() {
	defer close(d.fetchDone)
	tick := time.NewTicker(d.cfg.PollInterval)
	defer tick.Stop()
	for {
		more := d.fetchOnce()
		if more {
			select {
			case <-d.stopFetch:
				return
			default:
				continue
			}
		}
		select {
		case <-d.stopFetch:
			return
		case <-d.wake:
		case <-tick.C:
		}
	}
}

// fetchOnce claims for every client, fairly: each gets an equal share of the
// free capacity, and the first client rotates. It reports whether a client
// filled its share, meaning more work is waiting.
func (d *Dispatcher) fetchOnce() bool {
	ctx := d.runCtx
	clients, err := d.stores.Clients(ctx)
	if err != nil {
		d.log.Error("webhooks: listing clients", "err", err)
		return false
	}
	if len(clients) == 0 {
		return false
	}
	for _, c := range clients {
		d.clients.Store(c.ID, c)
		d.listen(c.ID)
	}
	d.mu.Lock()
	free := d.maxClaimed() - d.claimed + d.parked()
	start := d.round % len(clients)
	d.round++
	d.mu.Unlock()
	share := min(d.cfg.ClaimBatch, max(1, free/len(clients)))
	more, starved := false, false
	for i := range clients {
		limit := min(share, free)
		if limit <= 0 {
			break
		}
		c := clients[(start+i)%len(clients)]
		st, err := d.store(ctx, c.ID)
		if err != nil {
			d.log.Error("webhooks: resolving store", "client", c.ID, "err", err)
			continue
		}
		excluded := d.saturated(c.ID)
		claims, err := st.Claim(ctx, ClaimParams{
			Now: d.now(), Limit: limit, Lease: d.cfg.Lease,
			ExcludeWebhooks: excluded, MaxPerWebhook: 2 * d.cfg.MaxInFlightPerWebhook,
		})
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("webhooks: claiming deliveries", "client", c.ID, "err", err)
			}
			continue
		}
		free -= len(claims)
		more = more || len(claims) == limit
		events := make(map[string]*Event, len(claims))
		for _, cd := range claims {
			ev, ok := events[cd.Delivery.EventID]
			if !ok {
				ev, _ = UnmarshalEvent(cd.Payload) // an error is recorded when sending
				events[cd.Delivery.EventID] = ev
			}
			d.enqueueJob(&job{client: c.ID, store: st, claim: cd, event: ev})
		}
		if len(claims) > 0 || limit < share {
			starved = true // more may be due once capacity comes back
		}
	}
	d.mu.Lock()
	d.refetch = starved || free <= 0
	d.mu.Unlock()
	return more && free > 0
}

// listen starts the client's store's Listen once, if the store has one;
// it ends with the dispatcher.
func (d *Dispatcher) listen(client string) {
	d.mu.Lock()
	started := d.listening[client]
	d.listening[client] = true
	d.mu.Unlock()
	if started {
		return
	}
	st, err := d.store(d.waitCtx, client)
	if err != nil {
		return
	}
	l, ok := st.(Listener)
	if !ok {
		return
	}
	d.sends.Add(1) // Stop waits for it like for a lane
	go func() {
		defer d.sends.Done()
		if err := l.Listen(d.waitCtx, d.Wake); err != nil && d.waitCtx.Err() == nil {
			d.log.Error("webhooks: listening for other processes' notifications stopped; polling only", "client", client, "err", err)
		}
	}()
}

// parked counts queued jobs of lanes already at their in-flight cap: they
// wait for their own endpoint, not for workers, so they do not use up the
// claim budget of other endpoints (a lane's queue is bounded, and so is the
// number of lanes at their cap, Workers/MaxInFlightPerWebhook). d.mu is held.
func (d *Dispatcher) parked() int {
	n := 0
	for _, l := range d.lanes {
		if l.active >= d.cfg.MaxInFlightPerWebhook {
			n += len(l.queue)
		}
	}
	return n
}

// saturated lists the client's webhooks whose lanes hold more than one
// round (MaxInFlightPerWebhook) of work. The others have room for the two
// rounds a claim may bring each (ClaimParams.MaxPerWebhook), within the
// lane's bound of three: a claim fills lanes without giving anything back.
func (d *Dispatcher) saturated(client string) []int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []int64
	for k, l := range d.lanes {
		if k.client == client && l.held+l.reserved > d.cfg.MaxInFlightPerWebhook {
			ids = append(ids, k.webhook)
			l.behind = true // its lane wakes the fetch loop once it drains
		}
	}
	return ids
}

// enqueueJob puts a claimed delivery in its webhook's lane. With the claim
// capped per webhook and saturated lanes excluded, a lane holds at most
// three rounds of MaxInFlightPerWebhook; anything beyond (a store that
// ignores the cap) is given back at once, so one endpoint's backlog cannot
// tie up the dispatcher's capacity or outwait its lease in memory.
func (d *Dispatcher) enqueueJob(j *job) {
	key := laneKey{j.client, j.claim.Webhook.ID}
	d.mu.Lock()
	l := d.laneFor(key)
	if d.laneFull(l) {
		d.claimed++
		d.mu.Unlock() // completeLoop takes it in flush
		d.results <- result{job: j, release: true}
		return
	}
	d.queueLocked(l, j)
	d.mu.Unlock()
}

// laneFull reports whether l holds its bound of three rounds
// (MaxInFlightPerWebhook each) of claimed or reserved deliveries. d.mu is
// held.
func (d *Dispatcher) laneFull(l *lane) bool {
	return l.held+l.reserved >= 3*d.cfg.MaxInFlightPerWebhook
}

// laneFor returns the webhook's lane, creating it. d.mu is held.
func (d *Dispatcher) laneFor(key laneKey) *lane {
	l := d.lanes[key]
	if l == nil {
		burst := max(1, int(d.cfg.RateLimit))
		l = &lane{limiter: rate.NewLimiter(rate.Limit(d.cfg.RateLimit), burst)}
		d.lanes[key] = l
	}
	return l
}

// queueLocked adds a claimed job to its lane, counting it as claimed, and
// starts a lane goroutine while the lane is below its in-flight cap. d.mu
// is held.
func (d *Dispatcher) queueLocked(l *lane, j *job) {
	d.claimed++
	l.held++
	l.disabled = false // claimed, so the webhook is active again
	l.queue = append(l.queue, j)
	if l.active < d.cfg.MaxInFlightPerWebhook {
		l.active++
		d.sends.Add(1)
		go d.runLane(l)
	}
}

// runLane sends the lane's queued jobs one after another; a lane runs up to
// MaxInFlightPerWebhook of these, so a hanging endpoint occupies only that
// many workers. Once Stop begins, jobs not yet started are given back.
func (d *Dispatcher) runLane(l *lane) {
	defer d.sends.Done()
	for {
		d.mu.Lock()
		if len(l.queue) == 0 {
			l.active--
			d.mu.Unlock()
			return
		}
		j := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		disabled := l.disabled
		d.mu.Unlock()

		d.results <- d.sendInLane(l, j, disabled)
		d.mu.Lock()
		l.held--
		wake := l.behind && l.held+l.reserved <= d.cfg.MaxInFlightPerWebhook
		if wake {
			l.behind = false
		}
		d.mu.Unlock()
		if wake {
			d.Wake() // the lane has room again for what waits in the store
		}
	}
}

// sendInLane paces, sends and returns j's outcome, or gives j back when
// the webhook was disabled or Stop began.
func (d *Dispatcher) sendInLane(l *lane, j *job, disabled bool) result {
	if disabled || d.waitCtx.Err() != nil {
		return result{job: j, release: true}
	}
	if err := l.limiter.Wait(d.waitCtx); err != nil {
		return result{job: j, release: true}
	}
	select {
	case d.workers <- struct{}{}:
	case <-d.waitCtx.Done():
		return result{job: j, release: true}
	}
	defer func() { <-d.workers }()
	return d.send(d.runCtx, j)
}

// disableLane stops sending a webhook's queued jobs after it was disabled.
func (d *Dispatcher) disableLane(client string, webhookID int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l := d.lanes[laneKey{client, webhookID}]; l != nil {
		l.disabled = true
	}
}

// pruneLanes drops idle lanes whose limiter is full again: a new lane
// would behave the same, so nothing is lost.
func (d *Dispatcher) pruneLanes() {
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, l := range d.lanes {
		if l.active == 0 && l.held == 0 && l.reserved == 0 && l.limiter.TokensAt(now) >= float64(l.limiter.Burst()) {
			delete(d.lanes, k)
		}
	}
}

// send makes one attempt and decides the delivery's next state.
func (d *Dispatcher) send(ctx context.Context, j *job) result {
	cd, w := j.claim, j.claim.Webhook
	now := d.now()
	// The request must end before the lease does, or another process could
	// send the same delivery meanwhile.
	if left := cd.LeaseUntil.Sub(now) - time.Second; left < w.Timeout {
		if left < d.cfg.Limits.MinTimeout {
			d.log.Warn("webhooks: lease nearly over, giving the delivery back",
				"client", j.client, "delivery", cd.Delivery.ID, "webhook", w.ID)
			return result{job: j, release: true}
		}
		short := *w
		short.Timeout = left
		cd = &ClaimedDelivery{Delivery: cd.Delivery, Token: cd.Token, LeaseUntil: cd.LeaseUntil, Webhook: &short, Payload: cd.Payload}
	}
	attempt, status := d.attempt(ctx, j.client, cd, j.event, now)
	if ctx.Err() != nil && status == 0 {
		return result{job: j, skip: true} // stopped mid-request: not the endpoint's fault
	}
	maxRetries := w.MaxRetries
	if cd.Delivery.EventType == PingEventType {
		maxRetries = 0
	}
	next, at, disable := d.cfg.Retry.outcome(status, attempt.ResponseHeaders, cd.Delivery.AttemptCount+1, maxRetries, d.now())
	return result{job: j, completion: Completion{
		DeliveryID: cd.Delivery.ID, Token: cd.Token, Attempt: attempt,
		Status: next, NextAttemptAt: at, DisableWebhook: disable, Now: d.now(),
	}}
}

// attempt builds, signs and sends the request. It returns the recorded
// attempt and the HTTP status (0 when no response arrived).
func (d *Dispatcher) attempt(ctx context.Context, client string, cd *ClaimedDelivery, ev *Event, now time.Time) (Attempt, int) {
	w := cd.Webhook
	a := Attempt{StartedAt: now}
	secrets, err := d.cfg.Keyring.open(w.Secret, client, w.ID)
	if err != nil {
		a.Error = err.Error()
		return a, 0
	}
	if ev == nil {
		var err error
		if ev, err = UnmarshalEvent(cd.Payload); err != nil {
			a.Error = err.Error()
			return a, 0
		}
	}
	body, err := d.cfg.Envelope.Marshal(ev, w.ID)
	if err != nil {
		a.Error = "webhooks: encoding payload: " + err.Error()
		return a, 0
	}
	signed := http.Header{}
	d.schemeFor(secrets.Scheme).Sign(signed, &Message{
		DeliveryID: cd.Delivery.ID, EventID: ev.ID, EventType: ev.Type, Timestamp: now, Body: body,
	}, secrets.signing(now))
	custom := http.Header{}
	for k, v := range w.CustomHeaders {
		custom.Set(k, v)
	}
	a.RequestHeaders = recordedHeaders(custom, signed, w.ContentType)
	resp, err := d.sender.Send(ctx, &sender.Request{
		URL: w.URL, Method: w.HTTPMethod, ContentType: w.ContentType, Body: body,
		Header: custom, Protected: signed, Timeout: w.Timeout, InsecureSkipVerify: !w.VerifySSL,
	})
	if resp != nil {
		a.Duration = resp.Duration
	}
	if err != nil {
		a.Error = err.Error()
		return a, 0
	}
	a.ResponseStatus = resp.StatusCode
	a.ResponseHeaders = resp.Header
	a.ResponseBody = string(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Error = "HTTP " + strconv.Itoa(resp.StatusCode)
		if t := http.StatusText(resp.StatusCode); t != "" {
			a.Error += " " + t
		}
	}
	return a, resp.StatusCode
}

// recordedHeaders is what history shows of a request: everything sent, with
// the values of custom headers that look like credentials masked.
func recordedHeaders(custom, signed http.Header, contentType string) http.Header {
	h := make(http.Header, len(custom)+len(signed)+1)
	for k, v := range custom {
		if sensitiveHeader(k) {
			h[k] = []string{"[redacted]"}
		} else {
			h[k] = append([]string(nil), v...)
		}
	}
	for k, v := range signed {
		h[k] = append([]string(nil), v...)
	}
	h.Set("Content-Type", contentType)
	return h
}

func sensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"auth", "token", "key", "secret", "cookie", "password", "session", "signature"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

func (d *Dispatcher) completeLoop() {
	defer d.loops.Done()
	const maxBatch = 256
	batch := make([]result, 0, maxBatch)
	for r := range d.results {
		batch = append(batch[:0], r)
	fill:
		for len(batch) < maxBatch {
			select {
			case r, ok := <-d.results:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		d.flush(batch)
	}
}

// storeTimeout bounds one store call made to record outcomes; it applies
// even after Stop ran out of time, so what was sent is still recorded.
const storeTimeout = 10 * time.Second

// flush records a batch of outcomes, one Complete and one Release call per
// client.
func (d *Dispatcher) flush(batch []result) {
	type group struct {
		store       Store
		client      string
		completions []Completion
		releases    []ClaimRef
	}
	groups := map[string]*group{}
	var order []string
	released := false
	for _, r := range batch {
		if r.skip {
			continue
		}
		g := groups[r.job.client]
		if g == nil {
			g = &group{store: r.job.store, client: r.job.client}
			groups[r.job.client] = g
			order = append(order, r.job.client)
		}
		if r.release {
			released = true
			g.releases = append(g.releases, ClaimRef{DeliveryID: r.job.claim.Delivery.ID, Token: r.job.claim.Token})
		} else {
			g.completions = append(g.completions, r.completion)
		}
	}
	for _, client := range order {
		g := groups[client]
		if len(g.completions) > 0 {
			d.complete(g.client, g.store, g.completions)
		}
		if len(g.releases) > 0 {
			// A failed release costs only time: the lease lapses instead.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(d.runCtx), storeTimeout)
			if err := g.store.Release(ctx, g.releases); err != nil {
				d.log.Warn("webhooks: releasing claims", "client", g.client, "count", len(g.releases), "err", err)
			}
			cancel()
		}
	}
	d.mu.Lock()
	d.claimed -= len(batch)
	refetch := d.refetch
	d.mu.Unlock()
	if refetch || released {
		d.Wake() // capacity came back for work Claim left behind
	}
}

// complete records outcomes, retrying store errors briefly: an outcome that
// cannot be recorded is sent again after the lease lapses (at-least-once).
func (d *Dispatcher) complete(client string, st Store, cs []Completion) {
	backoff := 50 * time.Millisecond
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(d.runCtx), storeTimeout)
		res, err := st.Complete(ctx, cs)
		cancel()
		if err == nil {
			for _, id := range res.Stale {
				d.log.Warn("webhooks: outcome discarded, the delivery was claimed again after its lease lapsed or was purged", "client", client, "delivery", id)
			}
			if len(res.Disabled) > 0 {
				d.matches.forget(client)
			}
			for _, w := range res.Disabled {
				d.disableLane(client, w.ID)
				d.log.Warn("webhooks: webhook disabled", "client", client, "webhook", w.ID, "reason", w.Reason)
			}
			return
		}
		if try == 5 || d.runCtx.Err() != nil {
			d.log.Error("webhooks: recording outcomes failed; they will be retried after the lease", "client", client, "count", len(cs), "err", err)
			return
		}
		d.log.Warn("webhooks: recording outcomes", "client", client, "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-d.runCtx.Done():
		}
		backoff *= 2
	}
}

// janitorLoop purges history past the retention period, once soon after
// Start and then every JanitorInterval, and drops idle lanes.
func (d *Dispatcher) janitorLoop() {
	defer d.loops.Done()
	first := time.NewTimer(time.Duration(rand.Int64N(int64(5 * time.Second))))
	defer first.Stop()
	tick := time.NewTicker(d.cfg.JanitorInterval)
	defer tick.Stop()
	for {
		select {
		case <-d.stopFetch:
			return
		case <-first.C:
		case <-tick.C:
		}
		d.purge(d.waitCtx)
		d.pruneLanes()
	}
}

// purge deletes history older than the retention in every client's store.
func (d *Dispatcher) purge(ctx context.Context) {
	clients, err := d.stores.Clients(ctx)
	if err != nil {
		d.log.Error("webhooks: listing clients", "err", err)
		return
	}
	cutoff := d.now().Add(-d.cfg.Retention)
	for _, c := range clients {
		st, err := d.store(ctx, c.ID)
		if err == nil {
			var n int64
			if n, err = st.Purge(ctx, cutoff); err == nil && n > 0 {
				d.log.Info("webhooks: purged delivery history", "client", c.ID, "deliveries", n, "before", cutoff)
			}
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error("webhooks: purging history", "client", c.ID, "err", err)
		}
	}
}
