// Command tengine is the TengineAI webhooks product built on the library by
// configuration alone: its events, envelope, X-Tengine-Signature header,
// retry schedule (at once, 1 min, 5 min, 15 min, 1 h, 4 h), payload filters
// on project.name, and the seed's REST routes, with webhooks scoped per
// project.
//
//	go run ./examples/tengine                          # http://127.0.0.1:8090
//	go run ./examples/tengine -allow-private-networks  # also deliver to localhost receivers
//
// The demo API key and ready-to-paste curl commands are printed at start;
// see README.md in this directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/transport/sender"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	default:
		fmt.Fprintln(os.Stderr, "tengine:", err)
		os.Exit(1)
	}
}

// options is the parsed command line.
type options struct {
	addr         string
	db           string
	allowPrivate bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("tengine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8090", "listen address")
	fs.StringVar(&o.db, "db", "tengine.db", "SQLite database of webhooks, events and deliveries")
	fs.BoolVar(&o.allowPrivate, "allow-private-networks", false,
		"allow webhook targets on loopback, private, link-local and other non-public addresses (for local receivers)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	return o, nil
}

// app is the assembled product: the dispatcher and the HTTP handler.
type app struct {
	d       *webhooks.Dispatcher
	handler http.Handler
}

// newApp configures the library as TengineAI over st. The caller starts
// and stops the dispatcher.
func newApp(st webhooks.Store, snd *sender.Sender, log *slog.Logger) (*app, error) {
	registry, err := webhooks.NewRegistry(tengineCatalog()...)
	if err != nil {
		return nil, err
	}
	ps := newProjects(time.Now())
	cfg := profileConfig(ps.projectID)
	cfg.Registry, cfg.Store, cfg.Sender, cfg.Logger = registry, st, snd, log
	d, err := webhooks.New(cfg)
	if err != nil {
		return nil, err
	}
	a := &api{d: d, projects: ps, log: log, now: time.Now}
	return &app{d: d, handler: a.routes()}, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := sqlitestore.Open(ctx, o.db, nil)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	snd := sender.New(&sender.Options{AllowPrivateNetworks: o.allowPrivate})
	defer snd.Close()
	a, err := newApp(st, snd, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: 3 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if err := a.d.Start(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	printBanner(stdout, "http://"+ln.Addr().String(), o)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if err := a.d.Stop(sctx); err != nil {
		log.Warn("in-flight deliveries cancelled; they are retried after their lease", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// printBanner prints the address, the demo key and the seed's curl
// commands. The first line, "listening on <url>", is stable.
func printBanner(w io.Writer, base string, o options) {
	var b strings.Builder
	fmt.Fprintf(&b, "TengineAI webhooks example listening on %s\n\n", base)
	fmt.Fprintf(&b, "API key (Authorization: Bearer <key>):\n  %-14s project %s \"My Project\"\n  %-14s project %s \"Other Project\"\n",
		demoAPIKey, demoProjectID, otherAPIKey, otherProjectID)
	fmt.Fprintf(&b, "Webhooks, events and deliveries are stored in %s.\n", o.db)
	if o.allowPrivate {
		b.WriteString("Webhook targets on private and loopback addresses are ALLOWED (-allow-private-networks).\n")
	} else {
		b.WriteString("Webhook targets on private and loopback addresses are refused; start with\n" +
			"-allow-private-networks to deliver to a receiver on this machine.\n")
	}
	fmt.Fprintf(&b, `
Try (a receiver: go run ./examples/receiver -prefix X-Tengine- -secret your-webhook-secret -addr 127.0.0.1:3000):
  curl -s -X POST %[1]s/api/v1/projects/%[2]s/webhooks -H "Authorization: Bearer %[3]s" \
       -H "Content-Type: application/json" \
       -d '{"url": "http://127.0.0.1:3000/webhook", "events": ["project.updated", "api_key.created"], "secret": "your-webhook-secret", "filters": {"project.name": "My Project"}}'
  curl -s -X POST %[1]s/api/v1/projects/%[2]s/api_keys -H "Authorization: Bearer %[3]s" \
       -H "Content-Type: application/json" -d '{"name": "My API Key", "permissions": ["read", "write"]}'
  curl -s -X PATCH %[1]s/api/v1/projects/%[2]s -H "Authorization: Bearer %[3]s" \
       -H "Content-Type: application/json" -d '{"description": "Renamed"}'
  curl -s -X POST %[1]s/api/v1/webhooks/wh_1/test -H "Authorization: Bearer %[3]s"
  curl -s %[1]s/api/v1/webhooks/wh_1/deliveries -H "Authorization: Bearer %[3]s"
`, base, demoProjectID, demoAPIKey)
	_, _ = io.WriteString(w, b.String())
}
