package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/webhookkit/webhooks/transport/sender"
)

// Config configures a Dispatcher. Only Registry and one of Store or Stores
// are required; every other zero field takes the default its doc states.
type Config struct {
	// Registry of the event types the host emits. Required.
	Registry *Registry
	// Store serves a single-tenant host (the client ""). Set Store or Stores.
	Store Store
	// Stores maps clients to their stores for a multi-tenant host.
	Stores StoreResolver

	// Envelope renders request bodies. Default TGMEnvelope{}.
	Envelope Envelope
	// Scheme signs requests. Default HMACScheme{} (X-Webhook- headers).
	Scheme Scheme
	// Retry is the retry schedule. Default: at once, then 1, 5, 15 minutes.
	Retry RetryPolicy
	// Limits bound webhook configuration. Default DefaultLimits (the seed's).
	Limits Limits
	// RequireHTTPS refuses webhook URLs that are not https. Default false
	// (http is allowed, as the seed's "https recommended" says).
	RequireHTTPS bool
	// RejectOversizePayloads makes Emit fail with ErrPayloadTooLarge instead
	// of truncating an event whose payload exceeds Limits.MaxPayloadBytes.
	// Default false: truncate as the seed does.
	RejectOversizePayloads bool

	// RateLimit caps deliveries per second to one webhook. Default 100.
	RateLimit float64
	// MaxInFlightPerWebhook caps concurrent requests to one webhook, so a slow
	// endpoint holds at most this many workers. Default 8.
	MaxInFlightPerWebhook int
	// Workers caps concurrent requests overall. Default 64.
	Workers int
	// ClaimBatch is the most deliveries claimed per store round trip. Default 100.
	ClaimBatch int
	// Lease is how long a claimed delivery is reserved before another
	// process may take it over. It must exceed Limits.MaxTimeout. Default 5 min.
	Lease time.Duration
	// PollInterval is how often stores are checked for due deliveries
	// (retries coming due, emits of other processes). Default 1 s.
	PollInterval time.Duration
	// Retention is how long delivery history is kept. Default 30 days.
	Retention time.Duration
	// JanitorInterval is how often history past Retention is purged. Default 1 hour.
	JanitorInterval time.Duration

	// WebhookCacheTTL is how long the webhooks subscribed to an event type
	// (per client and company) are reused by Emit before the store is asked
	// again. Changes made through this Dispatcher take effect at once;
	// changes made by another process sharing the store, or written to the
	// store directly, within the TTL. Default 1 s; negative: ask the store
	// on every Emit.
	WebhookCacheTTL time.Duration

	// Keyring, when set, encrypts webhook secrets at rest (AES-256-GCM bound
	// to the client and webhook IDs): stores then hold only ciphertext.
	// Default nil: stores hold secrets as given.
	Keyring *Keyring

	// Sender makes the HTTP requests. Default sender.New(nil): the SSRF
	// guard on, so endpoints on loopback and private networks are refused;
	// pass sender.New(&sender.Options{AllowPrivateNetworks: true}) for local
	// development, or AllowCIDRs for specific internal ranges.
	Sender *sender.Sender
	// Logger receives state changes (webhook disabled, store errors); never
	// secrets or payloads. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now. Tests inject a fake to run
	// retry schedules in milliseconds.
	Now func() time.Time
}

// Dispatcher emits events into stores and delivers them: it claims due
// deliveries, sends them through per-webhook lanes, and records outcomes.
// Create one per process with New; it is safe for concurrent use.
type Dispatcher struct {
	cfg    Config
	stores StoreResolver
	rules  webhookRules
	// defaultTimeout is DefaultTimeout clamped to the limits.
	defaultTimeout time.Duration
	sender         *sender.Sender
	ownsSend       bool
	log            *slog.Logger
	clients        sync.Map // client ID → Client, for payload names
	matches        *matchCache
	batchers       sync.Map // Store → *emitBatcher
	filters        filterCache

	mu      sync.Mutex
	state   int // stateNew, stateRunning, stateStopped
	lanes   map[laneKey]*lane
	claimed int // claimed but not yet completed
	// refetch: the latest fetch may have left due work behind for lack
	// of room, so recorded outcomes (which free room) wake the fetch loop.
	refetch bool
	round   int // rotates the first client of each fetch cycle

	wake    chan struct{}
	workers chan struct{}
	results chan result
	// runCtx carries requests and store calls; it ends when Stop runs out
	// of time. waitCtx ends as soon as Stop begins, releasing lanes that
	// wait for the rate limiter or a worker.
	runCtx     context.Context
	cancelRun  context.CancelFunc
	waitCtx    context.Context
	cancelWait context.CancelFunc
	listening  map[string]bool // clients whose store's Listen runs
	stopFetch  chan struct{}
	fetchDone  chan struct{}
	sends      sync.WaitGroup
	loops      sync.WaitGroup
}

const (
	stateNew = iota
	stateRunning
	stateStopped
)

// New validates cfg and returns a Dispatcher. Emit and the webhook
// management methods work at once; deliveries flow after Start.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Registry == nil {
		return nil, errors.New("webhooks: Config.Registry is required")
	}
	switch {
	case cfg.Store != nil && cfg.Stores != nil:
		return nil, errors.New("webhooks: set Config.Store or Config.Stores, not both")
	case cfg.Store != nil:
		cfg.Stores = SingleStore(cfg.Store)
	case cfg.Stores == nil:
		return nil, errors.New("webhooks: Config.Store or Config.Stores is required")
	}
	if cfg.Envelope == nil {
		cfg.Envelope = TGMEnvelope{}
	}
	if cfg.Scheme == nil {
		cfg.Scheme = HMACScheme{}
	}
	cfg.Limits = cfg.Limits.withDefaults()
	setDefault(&cfg.RateLimit, 100)
	setDefault(&cfg.MaxInFlightPerWebhook, 8)
	setDefault(&cfg.Workers, 64)
	setDefault(&cfg.ClaimBatch, 100)
	setDefault(&cfg.Lease, 5*time.Minute)
	setDefault(&cfg.PollInterval, time.Second)
	setDefault(&cfg.Retention, 30*24*time.Hour)
	setDefault(&cfg.JanitorInterval, time.Hour)
	if cfg.Lease <= cfg.Limits.MaxTimeout {
		return nil, fmt.Errorf("webhooks: Config.Lease (%s) must exceed Limits.MaxTimeout (%s), or a slow request would be taken over while in flight", cfg.Lease, cfg.Limits.MaxTimeout)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WebhookCacheTTL == 0 {
		cfg.WebhookCacheTTL = time.Second
	}
	d := &Dispatcher{
		cfg:     cfg,
		stores:  cfg.Stores,
		sender:  cfg.Sender,
		log:     cfg.Logger,
		lanes:   make(map[laneKey]*lane),
		wake:    make(chan struct{}, 1),
		workers: make(chan struct{}, cfg.Workers),
		matches: newMatchCache(cfg.WebhookCacheTTL),
	}
	if d.sender == nil {
		d.sender, d.ownsSend = sender.New(nil), true
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	// The default timeout must fit the limits and the lease, or webhooks
	// created with defaults could never be sent.
	d.defaultTimeout = min(max(DefaultTimeout, cfg.Limits.MinTimeout), cfg.Limits.MaxTimeout)
	// Custom headers can never shadow any scheme's headers: a webhook may
	// switch schemes later.
	reserved := make(map[string]bool)
	for _, sc := range []Scheme{cfg.Scheme, d.schemeFor(SchemeHMACSHA256Hex), d.schemeFor(SchemeStandardWebhooks)} {
		for _, h := range sc.Headers() {
			reserved[http.CanonicalHeaderKey(h)] = true
		}
	}
	d.rules = webhookRules{reg: cfg.Registry, limits: cfg.Limits, reserved: reserved, defaultTimeout: d.defaultTimeout,
		checkHost: d.sender.CheckURLHost, requireHTTPS: cfg.RequireHTTPS}
	return d, nil
}

func setDefault[T int | float64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// schemeFor returns the scheme a webhook signs with: a built-in by name,
// the configured HMACScheme keeping its prefix, or Config.Scheme for "".
func (d *Dispatcher) schemeFor(name string) Scheme {
	switch name {
	case SchemeStandardWebhooks:
		if s, ok := d.cfg.Scheme.(StandardScheme); ok {
			return s
		}
		return StandardScheme{}
	case SchemeHMACSHA256Hex:
		if s, ok := d.cfg.Scheme.(HMACScheme); ok {
			return s
		}
		return HMACScheme{}
	default:
		return d.cfg.Scheme
	}
}

// Registry returns the event type registry.
func (d *Dispatcher) Registry() *Registry { return d.cfg.Registry }

// Limits returns the limits in force, defaults filled in.
func (d *Dispatcher) Limits() Limits { return d.cfg.Limits }

// Now returns the dispatcher's current time in UTC: Config.Now, which
// defaults to time.Now. Views that bucket history by time (the portal's
// chart) use it so that they agree with the times the dispatcher records.
func (d *Dispatcher) Now() time.Time { return d.now() }

func (d *Dispatcher) now() time.Time { return d.cfg.Now().UTC() }

// Start begins delivering: it returns at once and runs until Stop. The
// context is not retained: use Stop to end the dispatcher.
func (d *Dispatcher) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != stateNew {
		return errors.New("webhooks: Start called twice (a Dispatcher runs once)")
	}
	d.state = stateRunning
	d.runCtx, d.cancelRun = context.WithCancel(context.WithoutCancel(ctx))
	d.waitCtx, d.cancelWait = context.WithCancel(d.runCtx)
	d.results = make(chan result, d.cfg.Workers*2)
	d.stopFetch = make(chan struct{})
	d.fetchDone = make(chan struct{})
	d.listening = make(map[string]bool)
	d.loops.Add(2)
	go d.fetchLoop()
	go d.completeLoop()
	go d.janitorLoop()
	return nil
}

// Stop stops claiming, lets requests already claimed finish and records
// their outcomes, and returns when all of the dispatcher's goroutines are
// gone. If ctx ends first, in-flight requests are cancelled (their
// deliveries are retried after the lease lapses) and Stop returns ctx.Err()
// once the goroutines are gone.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	if d.state != stateRunning {
		d.mu.Unlock()
		return nil
	}
	d.state = stateStopped
	d.mu.Unlock()

	close(d.stopFetch)
	d.cancelWait()
	drained := make(chan struct{})
	go func() {
		<-d.fetchDone
		d.sends.Wait()
		close(d.results)
		d.loops.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		err = ctx.Err()
		d.cancelRun()
		<-drained
	}
	d.cancelRun()
	if d.ownsSend {
		d.sender.Close()
	}
	return err
}

// Wake asks the dispatcher to look for due deliveries now rather than at
// the next poll, e.g. after a host transaction holding EmitTx commits.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// store resolves a client's store.
func (d *Dispatcher) store(ctx context.Context, clientID string) (Store, error) {
	return d.stores.Store(ctx, clientID)
}

// client returns the Client for id, with its name from the resolver.
func (d *Dispatcher) client(ctx context.Context, id string) Client {
	if c, ok := d.clients.Load(id); ok {
		return c.(Client)
	}
	if cs, err := d.stores.Clients(ctx); err == nil {
		for _, c := range cs {
			d.clients.Store(c.ID, c)
		}
	}
	if c, ok := d.clients.Load(id); ok {
		return c.(Client)
	}
	return Client{ID: id}
}

type laneKey struct {
	client  string
	webhook int64
}

// lane queues one webhook's claimed deliveries; at most
// MaxInFlightPerWebhook run at once, paced by the limiter. Lanes outlive
// their queues so the limiter keeps its state; the janitor drops idle ones.
type lane struct {
	queue  []*job
	active int // lane goroutines
	// held counts the lane's jobs, queued or being sent.
	held int
	// behind: the webhook may have due deliveries in the store that
	// Claim skipped (or Emit left unleased) because the lane was full; the
	// lane wakes the fetch loop when it drains to one round.
	behind bool
	// reserved counts deliveries of emits under way that will join the
	// queue (see reserveDirect).
	reserved int
	limiter  *rate.Limiter
	// disabled is set when the webhook was disabled while jobs were
	// queued: they are given back rather than sent.
	disabled bool
}
