// Command server is a multi-tenant host configured as the TGM Expert
// product: two clients, each with its own SQLite database (or Postgres
// schema, or Redis key prefix), the seed's full event catalog, X-TGM-
// signatures, the admin API at /api/admin/webhooks behind bearer tokens, the
// webhook portal at /portal/ with a sign-in form, and domain endpoints
// (inspections, generic events) that emit webhooks.
//
//	go run ./examples/server                          # http://127.0.0.1:8080, databases in ./data
//	go run ./examples/server -allow-private-networks  # also deliver to localhost receivers
//	go run ./examples/server -postgres 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//	go run ./examples/server -redis redis://127.0.0.1:6379/0
//
// The tokens and ready-to-paste curl commands are printed at start; see
// README.md in this directory.
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
	"github.com/webhookkit/webhooks/transport/admin"
	"github.com/webhookkit/webhooks/transport/portal"
	"github.com/webhookkit/webhooks/transport/sender"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var usage usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, &usage):
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line; main exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// adminPrefix is where the admin API is mounted, as in the seed's URLs.
const adminPrefix = "/api/admin/webhooks"

// config is the parsed command line.
type config struct {
	addr            string
	dataDir         string
	postgres        string
	redis           string
	allowPrivate    bool
	shutdownTimeout time.Duration

	// namespace goes into every Postgres schema and Redis prefix name
	// (webhooks_<namespace>acme_corp, webhooks:{<namespace>acme-corp}); no
	// flag sets it: tests do, so that runs do not share data.
	namespace string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.dataDir, "data", "./data",
		"directory of the SQLite databases, one per client (<client>.db; with -redis, <client>.inspections.db); unused with -postgres")
	fs.StringVar(&c.postgres, "postgres", "",
		"Postgres DSN (URL or key=value): store everything there, one schema per client (webhooks_acme_corp, webhooks_globex)")
	fs.StringVar(&c.redis, "redis", "",
		"Redis URL (redis://[user:password@]host:port/db): webhooks there, one key prefix per client (webhooks:{acme-corp}); inspections in SQLite under -data")
	fs.BoolVar(&c.allowPrivate, "allow-private-networks", false,
		"allow webhook targets on loopback, private, link-local and other non-public addresses (for local receivers)")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second,
		"how long shutdown waits for in-flight requests and deliveries before cancelling them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, usageError{err.Error()}
	}
	switch {
	case fs.NArg() > 0:
		return c, usageError{fmt.Sprintf("unexpected argument %q (flags only; see -h)", fs.Arg(0))}
	case c.postgres != "" && c.redis != "":
		return c, usageError{"-postgres and -redis are mutually exclusive: choose one store (or neither, for SQLite under -data)"}
	case c.dataDir == "" && c.postgres == "":
		return c, usageError{"-data: a directory is required"}
	case c.shutdownTimeout <= 0:
		return c, usageError{"-shutdown-timeout: must be positive"}
	}
	return c, nil
}

// run starts the server and blocks until ctx ends, then shuts down: the
// HTTP server stops accepting and finishes its requests, the dispatcher
// finishes (or, past -shutdown-timeout, cancels) in-flight deliveries, and
// the stores close. Deliveries still queued stay in the store and go out at
// the next start. It prints the address, tokens and curl commands to stdout
// and logs to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdout, stderr)
}

// serve is run after the command line is parsed.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// Each client's webhook store and inspections (storage.go). Closed on
	// return, which is after the dispatcher has stopped.
	b, err := openBackend(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, b.close()) }()
	var resolver webhooks.StaticResolver
	tenants := make(map[string]*tenant, len(demoClients))
	for i := range demoClients {
		dc := &demoClients[i]
		tenants[dc.client.ID] = &tenant{demoClient: dc, inspections: b.inspections[dc.client.ID]}
		resolver.Add(dc.client, b.stores[dc.client.ID])
	}

	registry, err := webhooks.NewRegistry(tgmCatalog()...)
	if err != nil {
		return err
	}
	snd := sender.New(senderOptions(cfg.allowPrivate))
	defer snd.Close()
	d, err := webhooks.New(webhooks.Config{
		Registry: registry,
		Stores:   &resolver,
		Scheme:   webhooks.HMACScheme{Prefix: "X-TGM-"},
		Sender:   snd,
		Logger:   log,
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	adminAPI := admin.New(d, authorize, &admin.Options{Prefix: adminPrefix, Logger: log})
	mux.Handle(adminPrefix+"/", adminAPI)
	mux.Handle(adminPrefix, adminAPI)
	(&domain{d: d, tenants: tenants, log: log}).register(mux)
	mux.Handle(portalPrefix+"/", portal.New(d, portalAuthorize, &portal.Options{
		Prefix: portalPrefix, SignInURL: "/sign-in", SignOutURL: "/sign-out", Logger: log,
	}))
	(&signIn{}).register(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "webhooks example server (TGM Expert profile): see examples/server/README.md")
		fmt.Fprintln(w, "admin API: "+adminPrefix+"   domain: /api/inspections, /api/events   portal: "+portalPrefix+"/")
	})

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		// SendTest waits for the endpoint, up to the webhook's timeout (max 2 min).
		WriteTimeout: 3 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if err := d.Start(ctx); err != nil {
		_ = ln.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	printBanner(stdout, "http://"+ln.Addr().String(), cfg, b)
	log.Info("serving", "addr", ln.Addr().String(), "store", b.kind, "allowPrivateNetworks", cfg.allowPrivate)

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case serveErr = <-served:
		log.Error("HTTP server failed", "err", serveErr)
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("HTTP requests still running at the shutdown timeout were cut off", "err", err)
		_ = srv.Close()
	}
	if err := d.Stop(sctx); err != nil {
		// Nothing is lost: cancelled deliveries keep their lease in the
		// store and are sent again after it lapses.
		log.Warn("in-flight deliveries cancelled at the shutdown timeout; they are retried after their lease", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	log.Info("stopped")
	return nil
}

// printBanner prints where the server listens, the demo tokens and curl
// commands to paste. The first line, "listening on <url>", is stable.
func printBanner(w io.Writer, base string, cfg config, st *backend) {
	var b strings.Builder
	fmt.Fprintf(&b, "webhooks example server listening on %s\n\n", base)
	fmt.Fprintf(&b, "Webhook portal: %s%s/ (sign in with one of the tokens below)\n\n", base, portalPrefix)
	switch st.kind {
	case "Redis":
		b.WriteString("Clients (webhooks in Redis, one key prefix each; inspections in SQLite):\n")
	case "Postgres":
		b.WriteString("Clients (one Postgres schema each):\n")
	default:
		b.WriteString("Clients (one SQLite database each):\n")
	}
	for _, c := range demoClients {
		var cos []string
		for _, co := range c.companies {
			cos = append(cos, fmt.Sprintf("%d %q", co.id, co.name))
		}
		fmt.Fprintf(&b, "  %-10s %-18q companies: %s\n", c.client.ID, c.client.Name, strings.Join(cos, ", "))
		fmt.Fprintf(&b, "  %-10s %-18s stored in: %s\n", "", "", st.where[c.client.ID])
	}
	b.WriteString("\nBearer tokens (Authorization: Bearer <token>):\n")
	for _, t := range demoTokens {
		what := "admin of every company"
		if t.companyID != 0 {
			what = fmt.Sprintf("company %d only", t.companyID)
		}
		fmt.Fprintf(&b, "  %-15s %s, %s\n", t.token, t.client, what)
	}
	if cfg.allowPrivate {
		b.WriteString("\nWebhook targets on private and loopback addresses are ALLOWED (-allow-private-networks).\n")
	} else {
		b.WriteString("\nWebhook targets on private and loopback addresses are refused; start with\n" +
			"-allow-private-networks to deliver to a receiver on this machine.\n")
	}
	b.WriteString("\nTry:\n")
	curl := func(comment, token, method, path, body string) {
		fmt.Fprintf(&b, "  # %s\n  curl -s", comment)
		if method != "GET" {
			fmt.Fprintf(&b, " -X %s", method)
		}
		fmt.Fprintf(&b, " \"%s%s\" -H 'Authorization: Bearer %s'", base, path, token)
		if body != "" {
			fmt.Fprintf(&b, " \\\n    -H 'Content-Type: application/json' -d '%s'", body)
		}
		b.WriteString("\n")
	}
	curl("the event catalog", "acme-admin", "GET", adminPrefix+"/event-types", "")
	curl("a webhook for Acme HQ (the secret is in the answer, shown once)", "acme-company-1", "POST", adminPrefix,
		`{"name": "My Integration Webhook", "url": "https://your-server.com/webhooks/tgm", "companyId": 1, "events": ["inspection.created", "inspection.updated", "alert.created"]}`)
	curl("Acme HQ's webhooks", "acme-company-1", "GET", adminPrefix+"/company/1", "")
	curl("an inspection: inspection.created goes out", "acme-company-1", "POST", "/api/inspections",
		`{"title": "Monthly Turbine Inspection", "status": "pending", "scheduledDate": "2026-02-15"}`)
	curl("any catalog event", "acme-company-1", "POST", "/api/events",
		`{"event": "alert.created", "data": {"id": 7, "type": "Alert", "attributes": {"severity": "high"}}}`)
	curl("delivery history of webhook 1", "acme-company-1", "GET", adminPrefix+"/1/deliveries?limit=10", "")
	fmt.Fprintf(&b, "\nStop with Ctrl-C; queued deliveries stay in %s and go out at the next start.\n", st.kind)
	_, _ = io.WriteString(w, b.String())
}
