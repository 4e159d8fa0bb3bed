package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// deliveryHeader carries the delivery ID (HMACScheme's default prefix).
const deliveryHeader = "X-Webhook-Delivery"

// tally counts what the receivers of one scenario got, by delivery ID, and
// signals when a target number of distinct deliveries has arrived.
type tally struct {
	mu     sync.Mutex
	seen   map[int64]struct{}
	unique int64
	total  int64
	bad    int64 // requests without a delivery ID
	last   time.Time
	target int64
	done   chan struct{}
}

func newTally() *tally { return &tally{seen: make(map[int64]struct{})} }

// expect returns a channel closed once n distinct deliveries have arrived.
func (t *tally) expect(n int64) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.target, t.done = n, make(chan struct{})
	if t.unique >= n {
		close(t.done)
	}
	return t.done
}

func (t *tally) record(id int64) {
	now := time.Now()
	t.mu.Lock()
	t.total++
	if _, dup := t.seen[id]; !dup {
		t.seen[id] = struct{}{}
		t.unique++
		t.last = now
		if t.done != nil && t.unique == t.target {
			close(t.done)
		}
	}
	t.mu.Unlock()
}

func (t *tally) badRequest() {
	t.mu.Lock()
	t.bad++
	t.mu.Unlock()
}

// counts returns distinct deliveries, duplicates, requests without an ID
// and the arrival time of the latest new delivery.
func (t *tally) counts() (unique, dups, bad int64, last time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.unique, t.total - t.unique, t.bad, t.last
}

// receivers are the scenario's endpoints: one net/http server per endpoint,
// each on its own loopback listener (so each endpoint is a separate host to
// the sender's connection pool, as distinct customers are). Healthy ones
// drain the body, count the delivery and answer 200; a hanging one drains
// the body and then holds the request until the client gives up.
type receivers struct {
	urls    []string
	servers []*http.Server
	hangs   atomic.Int64 // requests the hanging endpoints received
	stop    chan struct{}
}

// startReceivers starts healthy+hanging endpoints; the hanging ones come first.
func startReceivers(t *tally, healthy, hanging int) (*receivers, error) {
	rs := &receivers{stop: make(chan struct{})}
	for i := range healthy + hanging {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			rs.close()
			return nil, err
		}
		var h http.Handler
		if i < hanging {
			h = http.HandlerFunc(rs.hang)
		} else {
			h = healthyHandler(t)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: nil}
		rs.servers = append(rs.servers, srv)
		rs.urls = append(rs.urls, fmt.Sprintf("http://%s/hooks/%d", ln.Addr(), i))
		go func() { _ = srv.Serve(ln) }()
	}
	return rs, nil
}

func healthyHandler(t *tally) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id, err := strconv.ParseInt(r.Header.Get(deliveryHeader), 10, 64)
		if err != nil {
			t.badRequest()
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		t.record(id)
		w.WriteHeader(http.StatusOK)
	}
}

func (rs *receivers) hang(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	rs.hangs.Add(1)
	select {
	case <-r.Context().Done(): // the sender timed out
	case <-rs.stop:
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}

func (rs *receivers) close() {
	select {
	case <-rs.stop:
	default:
		close(rs.stop)
	}
	for _, s := range rs.servers {
		_ = s.Close()
	}
}

// memSampler records the peak Go heap in use and the peak RSS of the
// process, every 50 ms, until stopped.
type memSampler struct {
	stop      chan struct{}
	done      chan struct{}
	heap, rss uint64
}

var heapMetrics = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}

func startMemSampler() *memSampler {
	m := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	sample := func() {
		metrics.Read(samples)
		var heap uint64
		for _, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				heap += s.Value.Uint64()
			}
		}
		m.heap = max(m.heap, heap)
		m.rss = max(m.rss, readRSS())
	}
	sample()
	go func() {
		defer close(m.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				sample()
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return m
}

// finish stops sampling and returns the peaks in MiB.
func (m *memSampler) finish() (heapMiB, rssMiB float64) {
	close(m.stop)
	<-m.done
	return float64(m.heap) / (1 << 20), float64(m.rss) / (1 << 20)
}

// readRSS returns VmRSS from /proc/self/status in bytes, 0 where there is none.
func readRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if rest, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			fields := bytes.Fields(rest)
			if len(fields) > 0 {
				kb, _ := strconv.ParseUint(string(fields[0]), 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// logCounter is the dispatchers' and stores' logger: it drops records
// below Warn and counts the others by message, so the report can say
// whether anything went wrong during a run.
type logCounter struct {
	mu    sync.Mutex
	count map[string]int
	first map[string]string
}

func (l *logCounter) logger() *slog.Logger { return slog.New(logHandler{l, nil}) }

type logHandler struct {
	l     *logCounter
	attrs []slog.Attr
}

func (h logHandler) Enabled(_ context.Context, lvl slog.Level) bool { return lvl >= slog.LevelWarn }

func (h logHandler) Handle(_ context.Context, r slog.Record) error {
	key := r.Level.String() + " " + r.Message
	var example bytes.Buffer
	example.WriteString(key)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(&example, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	if h.l.count == nil {
		h.l.count, h.l.first = map[string]int{}, map[string]string{}
	}
	h.l.count[key]++
	if _, ok := h.l.first[key]; !ok {
		h.l.first[key] = example.String()
	}
	return nil
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.l, append(slices.Clip(h.attrs), as...)}
}

func (h logHandler) WithGroup(string) slog.Handler { return h }

// summary lists each distinct warning or error once, with its count and
// first occurrence.
func (l *logCounter) summary() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, k := range slices.Sorted(maps.Keys(l.count)) {
		out = append(out, fmt.Sprintf("%d× %s", l.count[k], l.first[k]))
	}
	return out
}
