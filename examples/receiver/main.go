// Command receiver is a standalone webhook endpoint built on the library's
// receiving side: it verifies every request with webhooks.Verifier (HMAC
// with a header prefix, or Standard Webhooks), drops repeats of an event ID
// with a MemoryDeduper, answers 200 at once and processes the event after,
// printing it. It works against both example servers:
//
//	go run ./examples/receiver -secret your-webhook-secret -prefix Tengine   # examples/tengine
//	go run ./examples/receiver -secret whsec_... -prefix TGM -addr 127.0.0.1:3001  # examples/server
//	go run ./examples/receiver -secret whsec_... -scheme standard
//
// Any path is accepted, so point webhooks at http://127.0.0.1:3000/webhook.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/webhookkit/webhooks"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "receiver:", err)
		os.Exit(2)
	}
}

// options is the parsed command line.
type options struct {
	secret string
	addr   string
	prefix string
	scheme string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.secret, "secret", "", "the webhook's signing secret (required)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:3000", "listen address")
	fs.StringVar(&o.prefix, "prefix", "Webhook",
		`header prefix of the hmac scheme: "Tengine" (X-Tengine-Signature), "TGM" (X-TGM-Signature), or a full "X-...-"`)
	fs.StringVar(&o.scheme, "scheme", "hmac", `signature scheme: "hmac" (sha256=<hex>) or "standard" (Standard Webhooks)`)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	case o.secret == "":
		return o, errors.New("-secret is required: the secret shown when the webhook was created")
	case o.scheme != "hmac" && o.scheme != "standard":
		return o, fmt.Errorf("-scheme %q: want hmac or standard", o.scheme)
	}
	return o, nil
}

// headerPrefix turns "Tengine", "X-Tengine" or "X-Tengine-" into "X-Tengine-".
func headerPrefix(p string) string {
	p = strings.TrimSuffix(strings.TrimSpace(p), "-")
	if !strings.HasPrefix(strings.ToLower(p), "x-") {
		p = "X-" + p
	}
	return p + "-"
}

// scheme returns the verification scheme of o.
func (o options) schemeOf() webhooks.Scheme {
	if o.scheme == "standard" {
		return webhooks.StandardScheme{}
	}
	return webhooks.HMACScheme{Prefix: headerPrefix(o.prefix)}
}

// receiver verifies, deduplicates and queues events; a worker prints them.
type receiver struct {
	queue  chan received
	out    io.Writer
	scheme webhooks.Scheme
	done   chan struct{}
	once   sync.Once
}

// received is one verified request waiting to be processed.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// queueSize is how many verified events may wait; past it, requests wait
// for room (the sender sees a slow answer and retries later, and the
// deduper drops that retry, since the event is already queued).
const queueSize = 1024

func newReceiver(o options, out io.Writer) (*receiver, http.Handler) {
	rc := &receiver{queue: make(chan received, queueSize), out: out, scheme: o.schemeOf(), done: make(chan struct{})}
	v := &webhooks.Verifier{Secrets: []string{o.secret}, Scheme: rc.scheme, Dedupe: webhooks.NewMemoryDeduper(24 * time.Hour)}
	go rc.work()
	return rc, v.Middleware(http.HandlerFunc(rc.accept))
}

// accept runs after verification and deduplication: queue, answer 200.
func (rc *receiver) accept(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body) // the middleware already bounded and read it
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	rc.queue <- received{header: r.Header.Clone(), body: body, at: time.Now()}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "OK")
}

// work processes queued events one by one, after their 2xx was sent.
func (rc *receiver) work() {
	defer close(rc.done)
	for ev := range rc.queue {
		rc.print(ev)
	}
}

// close stops accepting work and waits for the queue to drain.
func (rc *receiver) close() {
	rc.once.Do(func() { close(rc.queue) })
	<-rc.done
}

func (rc *receiver) print(ev received) {
	var body struct {
		ID      string `json:"id"`
		EventID string `json:"eventId"`
		Type    string `json:"type"`
		Event   string `json:"event"`
	}
	_ = json.Unmarshal(ev.body, &body)
	id := webhooks.EventIDOf(ev.header, ev.body)
	typ := body.Type
	if body.Event != "" { // TGM envelope
		typ = body.Event
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, ev.body, "  ", "  ") != nil { // keeps the sender's key order
		pretty.Reset()
		pretty.Write(ev.body)
	}
	fmt.Fprintf(rc.out, "%s event %s %s (verified)\n  %s\n", ev.at.UTC().Format(time.RFC3339), typ, id, pretty.String())
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	rc, h := newReceiver(o, stdout)
	defer rc.close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	what := "hmac, headers " + headerPrefix(o.prefix) + "*"
	if o.scheme == "standard" {
		what = "Standard Webhooks"
	}
	fmt.Fprintf(stdout, "receiver listening on http://%s (%s); duplicates dropped\n", ln.Addr(), what)
	select {
	case <-ctx.Done():
	case err := <-served:
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
