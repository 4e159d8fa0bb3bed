// Package portal is an embeddable webhook dashboard: server-rendered pages
// (html/template, with its stylesheet and one small script embedded in the
// binary, nothing loaded from another origin) where a host's customers add
// and edit webhooks, pick events and a payload filter, read the secret
// once, send test pings, enable, disable and delete webhooks, and read
// delivery logs with every attempt, a retry button and a 24-hour chart.
//
// # Mounting
//
//	p := portal.New(d, authorize, &portal.Options{SignInURL: "/sign-in"}) // Prefix "/portal"
//	mux.Handle("/portal/", p)
//
// Options.Prefix is the path as the browser sees it (links start with it);
// requests are served whether or not the host strips it with
// http.StripPrefix. Pages, relative to the prefix:
//
//	GET  /                                  webhook list
//	GET  /webhooks/new, POST                create form; then the secret page
//	GET  /webhooks/{id}                     settings, 24-hour chart, delivery log (?status=, ?before=)
//	GET  /webhooks/{id}/edit, POST          edit form
//	POST /webhooks/{id}/enable | /disable   then back to the webhook
//	GET  /webhooks/{id}/delete, POST        confirmation, then delete
//	POST /webhooks/{id}/secret              regenerate; then the secret page
//	GET  /webhooks/{id}/secret              the new secret, once
//	POST /webhooks/{id}/test                send a ping; redirects to its delivery
//	GET  /webhooks/{id}/deliveries/{did}    every attempt; POST .../retry re-queues
//	GET  /assets/portal.css, /assets/portal.js
//
// # Authorization
//
// The AuthorizeFunc, the same as the admin API's (transport/admin), runs on
// every request but the static assets. Signing in is the host's business:
// its function reads its own session cookie or token. A company-scoped
// caller sees only its company's webhooks; any other webhook, and its
// deliveries, answer 404 exactly like a missing one. When authorization
// fails the portal redirects to Options.SignInURL, or answers 401.
//
// # Security
//
// Every state-changing form is checked twice: by net/http's
// CrossOriginProtection (Fetch metadata and Origin) and by a signed
// double-submit token (an HttpOnly, SameSite=Strict nonce cookie and an
// HMAC of it and the caller's scope in the form; see Options.CSRFKey).
// Every response carries a Content-Security-Policy that allows only the
// portal's own stylesheet and script (no inline code), forbids framing and
// limits form targets to the portal's origin, plus nosniff,
// Referrer-Policy: same-origin and Cache-Control: no-store. A new secret
// goes from the POST that made it to the page that shows it in a sealed
// (AES-GCM), HttpOnly, two-minute cookie that the page clears: it is shown
// once, never put in a URL, never echoed back into a form, and reloading
// the page cannot create or rotate again.
package portal
