// Package sender is the outbound HTTP client of the webhook-delivery
// library: it performs exactly one delivery attempt per call and reports
// what the receiver answered, leaving retries, success judgement and
// persistence to its caller.
//
// It is deliberately strict about what reaches the wire, because the
// receiving endpoint is chosen by a (possibly untrusted) webhook owner:
//
//   - an SSRF guard ([Guard]), on by default, refuses loopback, private,
//     link-local, multicast and other non-public addresses at dial time,
//     after DNS resolution and on every connection attempt, so a DNS name
//     that resolves (or rebinds) to 127.0.0.1 is refused too; IP-literal
//     hosts, including ambiguous spellings such as 127.1 or 2130706433,
//     are refused before any network activity, and [CheckURLHost] applies
//     the same rules when a webhook URL is created. Operators can exempt
//     prefixes ([Options.AllowCIDRs]) or turn the guard off
//     ([Options.AllowPrivateNetworks]);
//   - redirects are never followed, so a receiver cannot bounce a signed
//     payload to a third party or to an internal address;
//   - environment proxy variables are ignored, so traffic cannot silently
//     bypass the guard or [Options.DialControl]; an explicit
//     [Options.EgressProxy] exists for static egress IPs, with the target
//     checked before each request is handed to it;
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
