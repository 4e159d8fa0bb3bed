// Package sender is the outbound HTTP client of the webhook-delivery
// library: it performs exactly one delivery attempt per call and reports
// what the receiver answered, leaving retries, success judgement and
// persistence to its caller.
//
// It is deliberately strict about what reaches the wire, because the
// receiving endpoint is chosen by a (possibly untrusted) webhook owner:
//
//   - redirects are never followed, so a receiver cannot bounce a signed
//     payload to a third party or to an internal address;
//   - environment proxy variables are ignored, so traffic cannot silently
//     bypass [Options.DialControl];
//   - response bodies are never decompressed and never read beyond
//     [Options.MaxResponseBytes] plus one byte, so a hostile receiver
//     cannot make the sender buffer unbounded data;
//   - headers the library owns ([Request.Protected]) always win over
//     headers chosen by the webhook owner ([Request.Header]), and framing
//     headers (Host, Content-Length, Content-Type, Transfer-Encoding,
//     Connection) are never taken from either.
//
// The package is a leaf: it imports only the standard library.
package sender
