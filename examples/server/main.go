// Command server is a multi-tenant host configured as the TGM Expert
// product: two clients, each with its own SQLite database, the seed's full
// event catalog, X-TGM- signatures, the admin API at /api/admin/webhooks
// behind bearer tokens, and domain endpoints (inspections, generic events)
// that emit webhooks.
//
//	go run ./examples/server                          # http://127.0.0.1:8080, databases in ./data
//	go run ./examples/server -allow-private-networks  # also deliver to localhost receivers
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
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/webhookkit/webhooks"
	"github.com/webhookkit/webhooks/store/sqlitestore"
	"github.com/webhookkit/webhooks/transport/admin"
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
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.dataDir, "data", "./data", "directory of the SQLite databases, one per client (<client>.db)")
	fs.StringVar(&c.postgres, "postgres", "", "Postgres DSN (not available yet)")
	fs.StringVar(&c.redis, "redis", "", "Redis URL (not available yet)")
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
	case c.postgres != "":
		return c, usageError{"-postgres: not available yet: the Postgres store is not built; run without -postgres to use SQLite under -data"}
	case c.redis != "":
		return c, usageError{"-redis: not available yet: the Redis store is not built; run without -redis to use SQLite under -data"}
	case c.dataDir == "":
		return c, usageError{"-data: a directory is required"}
	case c.shutdownTimeout <= 0:
		return c, usageError{"-shutdown-timeout: must be positive"}
	}
	return c, nil
}

// run starts the server and blocks until ctx ends, then shuts down: the
// HTTP server stops accepting and finishes its requests, the dispatcher
// finishes (or, past -shutdown-timeout, cancels) in-flight deliveries, and
// the databases close. Deliveries still queued stay in SQLite and go out at
// the next start. It prints the address, tokens and curl commands to stdout
// and logs to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// One database per client: the library's tables and the host's own
	// inspections table, side by side, so EmitTx can share a transaction.
	if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
		return fmt.Errorf("-data: %w", err)
	}
	var resolver webhooks.StaticResolver
	tenants := make(map[string]*tenant, len(demoClients))
	defer func() {
		for _, t := range tenants {
			if cerr := t.store.Close(); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
	}()
	for i := range demoClients {
		dc := &demoClients[i]
		path := filepath.Join(cfg.dataDir, dc.client.ID+".db")
		st, err := sqlitestore.Open(ctx, path, nil)
		if err != nil {
			return err
		}
		tenants[dc.client.ID] = &tenant{demoClient: dc, store: st}
		if _, err := st.DB().ExecContext(ctx, inspectionsSchema); err != nil {
			return fmt.Errorf("%s: creating the inspections table: %w", path, err)
		}
		resolver.Add(dc.client, st)
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
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "webhooks example server (TGM Expert profile): see examples/server/README.md")
		fmt.Fprintln(w, "admin API: "+adminPrefix+"   domain: /api/inspections, /api/events")
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
	printBanner(stdout, "http://"+ln.Addr().String(), cfg)
	log.Info("serving", "addr", ln.Addr().String(), "data", cfg.dataDir, "allowPrivateNetworks", cfg.allowPrivate)

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
		// Nothing is lost: cancelled deliveries keep their lease in SQLite
		// and are sent again after it lapses.
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
func printBanner(w io.Writer, base string, cfg config) {
	var b strings.Builder
	fmt.Fprintf(&b, "webhooks example server listening on %s\n\n", base)
	fmt.Fprintf(&b, "Clients (one SQLite database each, under %s):\n", cfg.dataDir)
	for _, c := range demoClients {
		var cos []string
		for _, co := range c.companies {
			cos = append(cos, fmt.Sprintf("%d %q", co.id, co.name))
		}
		fmt.Fprintf(&b, "  %-10s %-18q companies: %s\n", c.client.ID, c.client.Name, strings.Join(cos, ", "))
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
	b.WriteString("\nStop with Ctrl-C; queued deliveries stay in the databases and go out at the next start.\n")
	_, _ = io.WriteString(w, b.String())
}
