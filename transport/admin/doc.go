// Package admin is the webhooks admin API as an http.Handler: the TGM Expert
// seed's 13 endpoints over a *webhooks.Dispatcher, with the seed's JSON
// shapes. The host mounts it behind its own authentication.
//
// # Mounting
//
// With the default prefix, register the handler for the prefix and for the
// subtree under it (POST /api/admin/webhooks, creation, has no trailing
// slash, and ServeMux would otherwise redirect it):
//
//	h := admin.New(d, authorize, nil) // Prefix "/api/admin/webhooks"
//	mux.Handle("/api/admin/webhooks/", h)
//	mux.Handle("/api/admin/webhooks", h)
//
// Or strip the prefix in the host; the default handler also serves stripped
// paths, and Options{Prefix: "/"} serves only those:
//
//	mux.Handle("/api/admin/webhooks/", http.StripPrefix("/api/admin/webhooks", h))
//	mux.Handle("/api/admin/webhooks", http.StripPrefix("/api/admin/webhooks", h))
//
// Any other prefix works the same way (Options.Prefix: "/internal/hooks").
//
// # Authorization
//
// The AuthorizeFunc runs first on every request, known route or not, and
// returns the caller's webhooks.Scope. Scope.Client selects the client's
// store. A caller with Scope.CompanyID set sees and changes only webhooks of
// that company and their deliveries; any other webhook (another company's,
// or a system-wide one) and its deliveries answer 404, exactly like a
// missing one, so their existence does not leak. It creates webhooks only
// for its own company: companyId left out means its company, and any other
// value (null included) is a 422 on companyId. A client-wide caller
// (CompanyID nil) sees every webhook of its client; companyId left out on
// create means null, system-wide, as in the seed. A scope naming a client
// the dispatcher does not serve is answered 401.
//
// Cookie-authenticated hosts should add CSRF protection: the bodiless POSTs
// (enable, disable, test, ...) carry no JSON a browser form could not send.
// Requests with a body must be JSON (415 otherwise), which forces a CORS
// preflight.
//
// # Routes
//
// Paths relative to the prefix:
//
//	GET    /event-types                     event types by category, then "*"
//	GET    /company/{companyId}             a company's webhooks; "system": system-wide ones
//	POST   (the prefix itself)              create; 201 with the secret, shown once
//	GET    /{id}                            one webhook
//	PUT    /{id}                            update the fields present in the body
//	DELETE /{id}                            delete with its history; 200, data null
//	POST   /{id}/enable                     enable and reset the failure counter
//	POST   /{id}/disable                    disable
//	POST   /{id}/regenerate-secret          new secret, shown once
//	POST   /{id}/test                       send a webhook.ping now; its outcome
//	GET    /{id}/deliveries                 history, newest first: ?limit=1..100 (20) &cursor= &status=
//	GET    /deliveries/{deliveryId}         one delivery with its attempts
//	POST   /deliveries/{deliveryId}/retry   re-queue a FAILED or RETRYING delivery
//	GET    /openapi.yaml                    the OpenAPI document (same authorization)
//
// OpenAPI returns the document; it describes every route, body and
// response, and the package's tests validate real responses against it.
//
// # Responses
//
// Success is {"data": ..., "meta": ...}; errors are {"error": {"code",
// "message", "fields"}} with these codes: 400 invalid_json (malformed JSON,
// a wrong type, an unknown field, data after the object), 401 unauthorized,
// 404 not_found (also for a path id that is not a positive integer), 405
// method_not_allowed (with Allow), 409 webhook_limit_reached and
// delivery_not_retryable, 413 payload_too_large, 415
// unsupported_media_type, 422 validation_failed (fields names every bad
// field), 500 internal_error (logged; never for bad input). Every response
// is application/json; charset=utf-8, except the OpenAPI document
// (application/yaml). The secret appears only in the responses of create
// and regenerate-secret; elsewhere hasSecret and secretPreview
// ("whsec_abc12345...xyz9") stand for it.
package admin
