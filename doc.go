// Package webhooks sends signed webhooks from a Go backend to its customers'
// endpoints, reliably, from inside the host process and on the database the
// host already runs.
//
// # The pieces
//
//   - A Registry holds the event types the host emits ("inspection.created"),
//     grouped by category. Webhooks subscribe with exact names, "*" or
//     "resource.*".
//   - A Store persists one client's webhooks, events, deliveries and
//     attempts: store/sqlitestore (the embedded default), store/memstore (tests
//     and demos). store/storetest is the conformance suite every store passes.
//   - A Dispatcher is the API: Emit and EmitTx record an event with one
//     delivery per subscribed webhook; Start runs the delivery pipeline; the
//     management methods (CreateWebhook, SendTest, RetryDelivery, ...) back an
//     admin API.
//   - A Verifier checks signatures in receiver code.
//
// # Guarantees
//
// When Emit returns nil the event and its deliveries are in the store;
// when the store fails, Emit returns the error. Deliveries are at least once:
// a claimed delivery is leased, and if the process dies the lease lapses and
// another dispatcher (or this one, restarted) sends it again. Receivers
// deduplicate on the event ID. Emit itself is idempotent on the event ID.
//
// # Delivery
//
// The dispatcher claims due deliveries in batches and puts each into its
// webhook's lane: a lane sends at most Config.MaxInFlightPerWebhook requests
// at once, paced to Config.RateLimit per second, so one slow endpoint never
// holds more than its share of Config.Workers. A 2xx within the webhook's
// timeout is a success. Anything else is retried on the RetryPolicy schedule
// (default at once, 1 min, 5 min, 15 min, with jitter; Retry-After honoured
// up to a bound) until the webhook's MaxRetries, then FAILED. 410 Gone
// disables the webhook; AutoDisableAfterFailures consecutive failed attempts
// disable it too, and enabling resets the counter. History older than
// Config.Retention (30 days) is purged.
//
// # Tenancy
//
// A platform serves many clients, each with its own store (its own database).
// A StoreResolver maps client IDs to stores; one Dispatcher serves them all,
// fairly. Inside a client, webhooks belong to a company, or to none
// (system-wide: they receive every company's events).
//
// # Signatures
//
// The default Scheme is the seeds': X-Webhook-Signature: sha256=<hex
// HMAC-SHA256 of the raw body keyed by the secret>, with -Event, -Delivery
// and -Timestamp headers; the prefix is configurable (HMACScheme{Prefix:
// "X-TGM-"}).
package webhooks
