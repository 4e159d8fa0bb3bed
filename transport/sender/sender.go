package sender

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
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
// valid and selects every default.
type Options struct {
	// MaxResponseBytes caps how much of a response body is kept. Default
	// [DefaultMaxResponseBytes] (64 KiB) when zero or negative. The sender
	// reads at most one byte more than this, only to detect truncation.
	MaxResponseBytes int

	// DialControl, when set, is installed as net.Dialer.ControlContext on
	// every dial. It runs after DNS resolution, so it sees the resolved
	// IP:port and can refuse the connection by returning an error, which
	// Send then wraps. When Proxy is set it sees the proxy's address, not
	// the receiver's. Default nil: every address is allowed.
	DialControl func(ctx context.Context, network, address string, c syscall.RawConn) error

	// UserAgent is sent as the User-Agent header of every request; custom
	// and protected headers cannot override it. Default
	// [DefaultUserAgent] when empty.
	UserAgent string

	// MaxIdleConnsPerHost bounds the idle connections kept per receiver for
	// reuse. Default [DefaultMaxIdleConnsPerHost] (32) when zero or
	// negative.
	MaxIdleConnsPerHost int

	// Proxy selects the proxy for each request, as http.Transport.Proxy.
	// Default nil: no proxy. Environment variables such as HTTPS_PROXY are
	// deliberately ignored, so they cannot route deliveries around
	// DialControl or somewhere the operator did not choose.
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
}

// New returns a Sender configured by opts; nil opts selects every default.
// The Sender keeps no reference to opts.
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
	return &Sender{
		maxBody:   o.MaxResponseBytes,
		userAgent: o.UserAgent,
		verified:  newClient(&o, false),
		insecure:  newClient(&o, true),
	}
}

func newClient(o *Options, insecure bool) *http.Client {
	dialer := &net.Dialer{
		Timeout:        dialTimeout,
		KeepAlive:      dialKeepAlive,
		ControlContext: o.DialControl,
	}
	transport := &http.Transport{
		Proxy:       o.Proxy,
		DialContext: dialer.DialContext,
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
		// to a third party, or point us at an address DialControl was
		// meant to check against a different host.
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
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
// request, DNS failure, refused or reset connection, TLS failure, dial
// refused by [Options.DialControl], timeout, ctx cancellation, or an error
// while reading the body) Send returns a non-nil error together with a
// *Response whose only meaningful field is Duration. The error text is meant
// for delivery history; it wraps [ErrInvalidRequest], [ErrTimeout] or the
// underlying cause.
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
