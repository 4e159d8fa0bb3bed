package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/webhookkit/webhooks"
)

// pair is one expected delivery: an event to one webhook (1-based index of
// the receiver path /hook/N).
type pair struct {
	event string
	hook  int
}

// trigger makes the receiver kill the child when the next request of
// generation gen arrives: before answering (killHTTP), or right after the
// 2xx was written and flushed (kill2xx).
type trigger struct {
	kind   killKind
	gen    int
	kill   func()
	exited <-chan struct{} // closed once the child has exited
	never  bool            // killHTTP: never answer; else answer 503 after the kill
	fired  chan struct{}   // closed when the trigger has killed

	// Set when it fires.
	delivery int64
	at       pair
}

// receiver is the customer's endpoint, on loopback: it verifies every
// signature and counts the requests it accepted (answered 2xx) by event and
// webhook and by delivery ID.
type receiver struct {
	ln      net.Listener
	srv     *http.Server
	base    string
	secrets []string // per webhook (index-1), set before serving

	mu        sync.Mutex
	gen       int // generation (life) of the live child; -1 between children
	trig      *trigger
	accepted  map[pair]int            // requests answered 2xx
	delivered map[int64]int           // by delivery ID
	pairOf    map[int64]pair          // delivery ID → its event and webhook
	ids       map[pair]map[int64]bool // delivery IDs seen per pair
	cut       []pair                  // requests a killHTTP trigger held and never answered 2xx
	invalid   int                     // signature failures
	malformed int                     // requests without a parseable event or delivery ID
	mismatch  int                     // a delivery ID seen for two different pairs
	open      int                     // open connections

	conns chan struct{} // a connection closed
}

func startReceiver(webhooksN int) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{
		ln: ln, base: "http://" + ln.Addr().String(), secrets: make([]string, webhooksN), gen: -1,
		accepted: map[pair]int{}, delivered: map[int64]int{}, pairOf: map[int64]pair{}, ids: map[pair]map[int64]bool{},
		conns: make(chan struct{}, 1),
	}
	for i := range rc.secrets {
		rc.secrets[i] = "whsec_crashtest_" + randomHex(16)
	}
	rc.srv = &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second, ConnState: rc.connState}
	go func() { _ = rc.srv.Serve(ln) }()
	return rc, nil
}

func (rc *receiver) url(hook int) string { return fmt.Sprintf("%s/hook/%d", rc.base, hook) }

func (rc *receiver) close() { _ = rc.srv.Close() }

func (rc *receiver) connState(_ net.Conn, s http.ConnState) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch s {
	case http.StateNew:
		rc.open++
	case http.StateClosed, http.StateHijacked:
		rc.open--
		poke(rc.conns)
	}
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// setGen names the live child's generation (-1: none); requests count
// toward triggers only if they arrive while their child is the live one.
func (rc *receiver) setGen(gen int) {
	rc.mu.Lock()
	rc.gen = gen
	rc.mu.Unlock()
}

func (rc *receiver) arm(t *trigger) {
	rc.mu.Lock()
	rc.trig = t
	rc.mu.Unlock()
}

// disarmIf disarms t and reports whether it was still armed (no request
// took it).
func (rc *receiver) disarmIf(t *trigger) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.trig != t {
		return false
	}
	rc.trig = nil
	return true
}

func (rc *receiver) disarm() {
	rc.mu.Lock()
	rc.trig = nil
	rc.mu.Unlock()
}

func (rc *receiver) openConns() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.open
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	gen := rc.gen
	rc.mu.Unlock()

	hook, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hook/"))
	if err != nil || hook < 1 || hook > len(rc.secrets) {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		return // the child died mid-body
	}
	if err := webhooks.NewVerifier(rc.secrets[hook-1], nil).Verify(r.Header, body); err != nil {
		rc.mu.Lock()
		rc.invalid++
		rc.mu.Unlock()
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	event := webhooks.EventIDOf(r.Header, body)
	delivery, err := strconv.ParseInt(r.Header.Get("X-Webhook-Delivery"), 10, 64)
	if event == "" || err != nil {
		rc.mu.Lock()
		rc.malformed++
		rc.mu.Unlock()
		http.Error(w, "no event or delivery ID", http.StatusBadRequest)
		return
	}
	at := pair{event, hook}

	rc.mu.Lock()
	t := rc.trig
	if t != nil && t.gen == gen && gen >= 0 {
		rc.trig = nil
		t.delivery, t.at = delivery, at
	} else {
		t = nil
	}
	rc.mu.Unlock()

	if t != nil && t.kind == killHTTP {
		// The request is in flight: kill the sender before answering.
		t.kill()
		close(t.fired)
		rc.mu.Lock()
		rc.cut = append(rc.cut, at)
		rc.mu.Unlock()
		waitClosed(t.exited, 10*time.Second)
		if t.never {
			ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
			<-ctx.Done() // the connection closes with the dead child
			cancel()
			return
		}
		http.Error(w, "answered after the sender was killed", http.StatusServiceUnavailable)
		return
	}

	rc.record(at, delivery)
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "ok")
	_ = http.NewResponseController(w).Flush() // the whole response is on the wire
	if t != nil {                             // kill2xx: before the child can record the outcome
		t.kill()
		close(t.fired)
	}
}

func waitClosed(ch <-chan struct{}, within time.Duration) {
	tm := time.NewTimer(within)
	defer tm.Stop()
	select {
	case <-ch:
	case <-tm.C:
	}
}

// record counts a request answered 2xx.
func (rc *receiver) record(at pair, delivery int64) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.accepted[at]++
	rc.delivered[delivery]++
	if prev, ok := rc.pairOf[delivery]; ok && prev != at {
		rc.mismatch++
	}
	rc.pairOf[delivery] = at
	if rc.ids[at] == nil {
		rc.ids[at] = map[int64]bool{}
	}
	rc.ids[at][delivery] = true
}

// missing counts the pairs of the journaled events not delivered yet.
func (rc *receiver) missing(journaled map[string]bool, hooks int) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for ev := range journaled {
		for h := 1; h <= hooks; h++ {
			if rc.accepted[pair{ev, h}] == 0 {
				n++
			}
		}
	}
	return n
}
