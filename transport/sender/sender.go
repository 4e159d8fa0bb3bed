package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"syscall"
	"time"
)

// DefaultUserAgent is the User-Agent sent when [Options.UserAgent] is
// empty.
const DefaultUserAgent = "webhookkit-webhooks/1"

// DefaultMaxIdleConnsPerHost is the per-host idle connection pool size
// used when [Options.MaxIdleConnsPerHost] is zero or negative.
const DefaultMaxIdleConnsPerHost = 32

const (
	dialTimeout         = 10 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
	idleConnTimeout     = 90 * time.Second
	dialKeepAlive       = 30 * time.Second
)

// Options configures a [Sender]. The zero value, or a nil *Options, is
// valid and selects every default, which includes the SSRF guard.
type Options struct {
	// MaxResponseBytes caps how much of a response body is kept. Default
	// [DefaultMaxResponseBytes] (64 KiB) when zero or negative. The sender
	// reads at most one byte more than this, only to detect truncation.
	MaxResponseBytes int

	// AllowPrivateNetworks turns the SSRF guard off: every address may be
	// dialled, whatever AllowCIDRs says, and [Sender.CheckURLHost] accepts
	// every host. Meant for tests and for deployments whose receivers all
	// live on the operator's own network. Default false: the guard
	// ([Guard]) refuses loopback, private, link-local, multicast and other
	// non-public receivers, at dial time (after DNS resolution, on every
	// connection attempt, so DNS rebinding is covered) and before any
	// network activity for IP-literal hosts; such a Send fails with an
	// error wrapping [ErrBlockedAddress] and the receiver gets no
	// connection.
	AllowPrivateNetworks bool

	// AllowCIDRs lists prefixes the operator trusts, exempt from the
	// guard's deny list (see [Guard.Allow]), for example an internal
	// receiver at 10.20.0.0/16. It is operator configuration: never fill
	// it from webhook owners' input. Ignored when AllowPrivateNetworks is
	// set. Default nil: nothing is exempt.
	AllowCIDRs []netip.Prefix

	// DialControl, when set, is an extra check installed on every dial,
	// as net.Dialer.ControlContext. It runs after DNS resolution and after
	// the SSRF guard (it is not called for an address the guard refused),
	// so it sees the resolved IP:port and can refuse the connection by
	// returning an error, which Send then wraps. When a proxy is used it
	// sees the proxy's address, not the receiver's. Default nil: no check
	// beyond the guard.
	DialControl func(ctx context.Context, network, address string, c syscall.RawConn) error

	// UserAgent is sent as the User-Agent header of every request; custom
	// and protected headers cannot override it. Default
	// [DefaultUserAgent] when empty.
	UserAgent string

	// MaxIdleConnsPerHost bounds the idle connections kept per receiver for
	// reuse. Default [DefaultMaxIdleConnsPerHost] (32) when zero or
	// negative.
	MaxIdleConnsPerHost int

	// Resolver resolves receiver host names, both when dialling and when
	// checking a target before handing it to a proxy. Default nil:
	// net.DefaultResolver.
	Resolver *net.Resolver

	// EgressProxy, when set, sends every request through this proxy (http,
	// https, socks5 or socks5h URL; user-info is used as proxy
	// credentials), for hosts whose receivers allow-list static egress IPs.
	// It takes precedence over Proxy. The proxy's own address is operator
	// configuration and is not checked by the guard (DialControl still
	// sees it). Because the proxy, not the sender, connects to the
	// receiver, the guard cannot check the final address at dial time;
	// instead, before each request it resolves the receiver's host with
	// Resolver and refuses the request, before anything reaches the proxy,
	// if any address is denied (or if the name does not resolve). The proxy
	// resolves the name again, so a DNS-rebinding receiver can still
	// switch to an internal address between the two lookups: the proxy
	// itself must enforce egress rules (deny internal ranges) for the
	// protection to be complete. Default nil: no egress proxy.
	EgressProxy *url.URL

	// Proxy selects the proxy for each request, as http.Transport.Proxy.
	// Default nil: no proxy. Environment variables such as HTTPS_PROXY are
	// deliberately ignored, so they cannot route deliveries around the
	// guard or somewhere the operator did not choose. Ignored when
	// EgressProxy is set. Unlike EgressProxy, the proxy's address is
	// checked by the guard like any dial (add it to AllowCIDRs if it is on
	// a private network); the receiver's host is checked before each
	// proxied request as described for EgressProxy, with the same
	// rebinding caveat.
	Proxy func(*http.Request) (*url.URL, error)
}

// Sender delivers webhook requests over HTTP. It is safe for concurrent
// use and should be long-lived: it owns two connection pools, one that
// verifies TLS certificates and one that does not, so keep-alive
// connections are reused across deliveries. Create it with [New].
type Sender struct {
	maxBody   int
	userAgent string
	verified  *http.Client
	insecure  *http.Client
	guard     *Guard // nil when Options.AllowPrivateNetworks
}

// New returns a Sender configured by opts; nil opts selects every default,
// so sender.New(nil) has the SSRF guard on (see
// [Options.AllowPrivateNetworks]). The Sender keeps no reference to opts.
func New(opts *Options) *Sender {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.MaxIdleConnsPerHost <= 0 {
		o.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	var guard *Guard
	if !o.AllowPrivateNetworks {
		guard = &Guard{Allow: slices.Clone(o.AllowCIDRs)}
	}
	if o.EgressProxy != nil {
		u := *o.EgressProxy
		o.EgressProxy = &u
	}
	return &Sender{
		maxBody:   o.MaxResponseBytes,
		userAgent: o.UserAgent,
		verified:  newClient(&o, guard, false),
		insecure:  newClient(&o, guard, true),
		guard:     guard,
	}
}

// CheckURLHost is the create- and update-time companion of the guard this
// Sender dials with: nil when [Options.AllowPrivateNetworks] is set,
// otherwise [Guard.CheckURLHost] with [Options.AllowCIDRs] as the allow
// list. It does not resolve DNS names.
func (s *Sender) CheckURLHost(rawURL string) error {
	if s.guard == nil {
		return nil
	}
	return s.guard.CheckURLHost(rawURL)
}

func newClient(o *Options, guard *Guard, insecure bool) *http.Client {
	guarded := &net.Dialer{
		Timeout:        dialTimeout,
		KeepAlive:      dialKeepAlive,
		Resolver:       o.Resolver,
		ControlContext: chainControl(guard, o.DialControl),
	}
	dial := nameBlocked(guarded.DialContext)
	proxy := o.Proxy
	if o.EgressProxy != nil {
		proxyURL := o.EgressProxy
		proxy = func(*http.Request) (*url.URL, error) { return proxyURL, nil }
		// The proxy is the operator's choice: its dial skips the guard
		// (though not DialControl). With a fixed proxy every dial the
		// transport makes is to the proxy, so the guarded path below is
		// only a safety net.
		proxyAddr := canonicalProxyAddr(proxyURL)
		direct := &net.Dialer{
			Timeout:        dialTimeout,
			KeepAlive:      dialKeepAlive,
			Resolver:       o.Resolver,
			ControlContext: o.DialControl,
		}
		guardedDial := dial
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == proxyAddr {
				return direct.DialContext(ctx, network, addr)
			}
			return guardedDial(ctx, network, addr)
		}
	}
	if proxy != nil && guard != nil {
		selectProxy := proxy
		proxy = func(req *http.Request) (*url.URL, error) {
			u, err := selectProxy(req)
			if err != nil || u == nil {
				return u, err
			}
			if err := guard.checkResolved(req.Context(), o.Resolver, req.URL.Hostname()); err != nil {
				return nil, err
			}
			return u, nil
		}
	}
	transport := &http.Transport{
		Proxy:       proxy,
		DialContext: dial,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// Opting out of verification is the webhook owner's explicit
			// choice (verifySsl=false), kept on a separate pool so it can
			// never leak onto verified connections.
			InsecureSkipVerify: insecure,
		},
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: tlsHandshakeTimeout,
		IdleConnTimeout:     idleConnTimeout,
		MaxIdleConnsPerHost: o.MaxIdleConnsPerHost,
		// Transparent gunzip would both hide what the receiver really sent
		// and let a small compressed body expand past the cap's intent.
		DisableCompression: true,
	}
	return &http.Client{
		Transport: transport,
		// Following redirects would let a receiver send the signed payload
		// to a third party (the guard would still check the new address,
		// but not the intent).
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// chainControl runs the guard, then the operator's own hook.
func chainControl(guard *Guard, extra func(context.Context, string, string, syscall.RawConn) error) func(context.Context, string, string, syscall.RawConn) error {
	if guard == nil {
		return extra
	}
	if extra == nil {
		return guard.Control
	}
	return func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := guard.Control(ctx, network, address, c); err != nil {
			return err
		}
		return extra(ctx, network, address, c)
	}
}

// nameBlocked adds the DNS name that was dialled to a guard refusal, which
// only sees the resolved address.
func nameBlocked(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		var b *blockedError
		if err != nil && errors.As(err, &b) && b.host == "" {
			if host, _, serr := net.SplitHostPort(addr); serr == nil {
				if _, perr := netip.ParseAddr(host); perr != nil {
					b.host = host
				}
			}
		}
		return conn, err
	}
}

// canonicalProxyAddr is the host:port http.Transport dials for proxy u.
func canonicalProxyAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "socks5", "socks5h":
			port = "1080"
		default:
			port = "80"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// Close closes idle connections of both pools. In-flight sends are not
// interrupted, and the Sender stays usable afterwards (it will dial anew).
func (s *Sender) Close() {
	s.verified.CloseIdleConnections()
	s.insecure.CloseIdleConnections()
}

// Send performs one delivery attempt and captures the response.
//
// When an HTTP response arrived, whatever its status (3xx, 4xx and 5xx
// included), Send returns it with a nil error: judging success is the
// caller's job. When no complete response could be obtained (invalid
// request, address refused by the SSRF guard, DNS failure, refused or reset
// connection, TLS failure, dial refused by [Options.DialControl], timeout,
// ctx cancellation, or an error while reading the body) Send returns a
// non-nil error together with a *Response whose only meaningful field is
// Duration. The error text is meant for delivery history; it wraps
// [ErrInvalidRequest], [ErrBlockedAddress], [ErrTimeout] or the underlying
// cause.
func (s *Sender) Send(ctx context.Context, req *Request) (*Response, error) {
	start := time.Now()
	fail := func(err error) (*Response, error) {
		return &Response{Duration: time.Since(start)}, err
	}

	p, err := prepare(req)
	if err != nil {
		return fail(err)
	}
	target := p.url.Redacted()
	// IP literals, including ambiguous forms such as 127.1 that Go's
	// resolver would send to DNS while others read them as addresses, are
	// refused here, before any network activity; DNS names are checked by
	// the guard at dial time, or before the request goes to a proxy.
	if s.guard != nil {
		if err := s.guard.checkHost(p.url.Hostname()); err != nil {
			return fail(blockedSend(p.method, target, err))
		}
	}

	// Body reading is inside the deadline on purpose: a receiver trickling
	// its response must not be able to hold a delivery worker forever.
	attemptCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	header, err := buildHeader(req, s.userAgent)
	if err != nil {
		return fail(err)
	}
	httpReq, err := http.NewRequestWithContext(attemptCtx, p.method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return fail(invalidf("%w", err))
	}
	httpReq.Header = header

	client := s.verified
	if req.InsecureSkipVerify {
		client = s.insecure
	}
	httpResp, err := client.Do(httpReq)
	if err != nil {
		return fail(classify(ctx, attemptCtx, p.timeout, p.method, target, phaseResponse, err))
	}
	// Closing without draining is deliberate: when the body exceeded the
	// cap, dropping the connection is cheaper than reading on. Bodies
	// within the cap were read to EOF, so their connection is reused.
	defer httpResp.Body.Close()

	body, truncated, err := capture(httpResp.Body, s.maxBody)
	if err != nil {
		return fail(classify(ctx, attemptCtx, p.timeout, p.method, target, phaseBody, err))
	}
	return &Response{
		StatusCode: httpResp.StatusCode,
		Header:     httpResp.Header,
		Body:       body,
		Truncated:  truncated,
		Duration:   time.Since(start),
	}, nil
}
