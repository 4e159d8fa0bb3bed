package sender_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks/transport/sender"
)

// waitLimit guards channel receives so a broken implementation fails the
// test instead of hanging it.
const waitLimit = 5 * time.Second

func newServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// newSender builds a Sender with the SSRF guard off, because every test
// server here listens on loopback; guard_test.go covers the guard.
func newSender(t *testing.T, opts *sender.Options) *sender.Sender {
	t.Helper()
	var o sender.Options
	if opts != nil {
		o = *opts
	}
	o.AllowPrivateNetworks = true
	s := sender.New(&o)
	t.Cleanup(s.Close)
	return s
}

// newBlockingServer hands the handler a channel closed at cleanup. The
// close is registered after the server's Close so it runs first: Close
// waits for handlers, and blocked handlers must be let go before that.
func newBlockingServer(t *testing.T, handler func(stop <-chan struct{}) http.HandlerFunc) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := newServer(t, handler(stop))
	t.Cleanup(func() { close(stop) })
	return srv
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatal("timed out waiting for the server")
		panic("unreachable")
	}
}

type seen struct {
	method           string
	host             string
	header           http.Header
	body             []byte
	contentLength    int64
	transferEncoding []string
	close            bool
}

func recordingServer(t *testing.T, status int) (*httptest.Server, <-chan seen) {
	t.Helper()
	got := make(chan seen, 1)
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{
			method:           r.Method,
			host:             r.Host,
			header:           r.Header.Clone(),
			body:             body,
			contentLength:    r.ContentLength,
			transferEncoding: r.TransferEncoding,
			close:            r.Close,
		}
		w.Header().Set("X-Reply", "yes")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "received")
	})
	return srv, got
}

func TestSendRequestShape(t *testing.T) {
	body := []byte{'{', 0x00, 0xff, 0xfe, '\r', '\n', 'x', '}'}
	tests := []struct {
		name        string
		method      string
		wantMethod  string
		contentType string
		wantType    string
	}{
		{"default method and type", "", http.MethodPost, "", "application/json"},
		{"put", http.MethodPut, http.MethodPut, "text/plain; charset=utf-8", "text/plain; charset=utf-8"},
		{"patch", http.MethodPatch, http.MethodPatch, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := recordingServer(t, http.StatusCreated)
			s := newSender(t, nil)

			resp, err := s.Send(context.Background(), &sender.Request{
				URL:         srv.URL + "/hook?x=1",
				Method:      tc.method,
				ContentType: tc.contentType,
				Body:        body,
				Header: http.Header{
					"Host":              {"evil.example"},
					"content-type":      {"text/evil"},
					"Content-Length":    {"1"},
					"transfer-encoding": {"chunked"},
					"CONNECTION":        {"close"},
					"User-Agent":        {"impostor/1"},
					"X-Custom":          {"a", "b"},
					"x-signature":       {"forged"},
					"X-Event":           {"forged-1", "forged-2"},
				},
				Protected: http.Header{
					"X-Signature":  {"real"},
					"x-event":      {"ping"},
					"X-Delivery":   {"d-1"},
					"Content-Type": {"text/protected-but-ignored"},
				},
			})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, resp.StatusCode)
			require.Equal(t, "yes", resp.Header.Get("X-Reply"))
			require.Equal(t, []byte("received"), resp.Body)
			require.False(t, resp.Truncated)
			require.Positive(t, resp.Duration)

			r := receive(t, got)
			require.Equal(t, tc.wantMethod, r.method)
			require.Equal(t, srv.Listener.Addr().String(), r.host)
			require.Equal(t, body, r.body)
			require.Equal(t, int64(len(body)), r.contentLength)
			require.Empty(t, r.transferEncoding)
			require.False(t, r.close)
			require.Empty(t, r.header.Values("Connection"))
			require.Equal(t, []string{tc.wantType}, r.header.Values("Content-Type"))
			require.Equal(t, []string{sender.DefaultUserAgent}, r.header.Values("User-Agent"))
			require.Equal(t, []string{"a", "b"}, r.header.Values("X-Custom"))
			require.Equal(t, []string{"real"}, r.header.Values("X-Signature"))
			require.Equal(t, []string{"ping"}, r.header.Values("X-Event"))
			require.Equal(t, []string{"d-1"}, r.header.Values("X-Delivery"))
			// No transparent compression was negotiated.
			require.Empty(t, r.header.Values("Accept-Encoding"))
		})
	}
}

func TestSendEmptyBodyAndCustomUserAgent(t *testing.T) {
	srv, got := recordingServer(t, http.StatusNoContent)
	s := newSender(t, &sender.Options{UserAgent: "custom-agent/2"})

	resp, err := s.Send(context.Background(), &sender.Request{URL: srv.URL})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Empty(t, resp.Body)

	r := receive(t, got)
	require.Empty(t, r.body)
	require.Equal(t, int64(0), r.contentLength)
	require.Equal(t, "custom-agent/2", r.header.Get("User-Agent"))
}

func TestSendReturnsErrorStatuses(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusGone, http.StatusInternalServerError, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv, _ := recordingServer(t, status)
			resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL})
			require.NoError(t, err)
			require.Equal(t, status, resp.StatusCode)
			require.Equal(t, []byte("received"), resp.Body)
		})
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	var targetHits atomic.Int32
	target := newServer(t, func(http.ResponseWriter, *http.Request) { targetHits.Add(1) })
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			redirector := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target.URL+"/stolen", status)
			})
			resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: redirector.URL, Body: []byte("{}")})
			require.NoError(t, err)
			require.Equal(t, status, resp.StatusCode)
			require.Equal(t, target.URL+"/stolen", resp.Header.Get("Location"))
		})
	}
	require.Zero(t, targetHits.Load())
}

// smallBufferListener pins the server's socket send buffer, so the kernel
// cannot absorb megabytes of an unread response and the test can tell
// "client stopped reading" from "buffers happened to be large".
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(32 << 10)
	}
	return c, err
}

func TestSendCapsLargeBody(t *testing.T) {
	const total = 10 << 20
	written := make(chan int, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(total))
		chunk := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KiB
		n := 0
		for n < total {
			m, err := w.Write(chunk)
			n += m
			if err != nil {
				break
			}
		}
		written <- n
	}))
	srv.Listener = smallBufferListener{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)

	resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, resp.Body, sender.DefaultMaxResponseBytes)
	require.True(t, resp.Truncated)
	require.Equal(t, bytes.Repeat([]byte("0123456789abcdef"), sender.DefaultMaxResponseBytes/16), resp.Body)

	// The server's writes fail once the client hangs up after the cap.
	require.Less(t, receive(t, written), total)
}

func TestSendCapBoundary(t *testing.T) {
	const limit = 10
	for _, chunked := range []bool{false, true} {
		for _, size := range []int{0, limit - 1, limit, limit + 1, 3 * limit} {
			t.Run(fmt.Sprintf("chunked=%v/size=%d", chunked, size), func(t *testing.T) {
				payload := bytes.Repeat([]byte("z"), size)
				srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
					if chunked {
						// Flushing before the body forces chunked encoding,
						// so the client cannot learn the length up front.
						w.(http.Flusher).Flush()
					}
					_, _ = w.Write(payload)
				})
				s := newSender(t, &sender.Options{MaxResponseBytes: limit})
				resp, err := s.Send(context.Background(), &sender.Request{URL: srv.URL})
				require.NoError(t, err)
				require.Equal(t, size > limit, resp.Truncated)
				require.Equal(t, payload[:min(size, limit)], resp.Body[:len(resp.Body):len(resp.Body)])
				require.Len(t, resp.Body, min(size, limit))
			})
		}
	}
}

func TestSendDoesNotDecodeGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(bytes.Repeat([]byte("compressible "), 1000))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	raw := buf.Bytes()

	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(raw)
	})
	t.Run("whole", func(t *testing.T) {
		resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL})
		require.NoError(t, err)
		require.Equal(t, raw, resp.Body)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		require.False(t, resp.Truncated)
	})
	t.Run("capped", func(t *testing.T) {
		resp, err := newSender(t, &sender.Options{MaxResponseBytes: 20}).Send(context.Background(), &sender.Request{URL: srv.URL})
		require.NoError(t, err)
		require.Equal(t, raw[:20], resp.Body)
		require.True(t, resp.Truncated)
	})
}

func TestSendTLSVerification(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "secure")
	}))
	// The server logs the expected handshake failures; keep output clean.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s := newSender(t, nil)

	resp, err := s.Send(context.Background(), &sender.Request{URL: srv.URL})
	require.Error(t, err)
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, err, &verr)
	require.True(t, strings.HasPrefix(err.Error(), "sender: POST "+srv.URL), err.Error())
	require.NotNil(t, resp)
	require.Zero(t, resp.StatusCode)
	require.Zero(t, hits.Load())

	resp, err = s.Send(context.Background(), &sender.Request{URL: srv.URL, InsecureSkipVerify: true})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, []byte("secure"), resp.Body)
	require.Equal(t, int32(1), hits.Load())

	// The insecure pool must not make later verified sends lenient.
	_, err = s.Send(context.Background(), &sender.Request{URL: srv.URL})
	require.ErrorAs(t, err, &verr)
}

func TestSendTimeoutWaitingForResponse(t *testing.T) {
	srv := newBlockingServer(t, func(stop <-chan struct{}) http.HandlerFunc {
		return func(_ http.ResponseWriter, r *http.Request) {
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		}
	})

	const timeout = 200 * time.Millisecond
	start := time.Now()
	resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL, Timeout: timeout})
	elapsed := time.Since(start)

	require.ErrorIs(t, err, sender.ErrTimeout)
	require.NotErrorIs(t, err, context.Canceled)
	require.Contains(t, err.Error(), "timeout after 200ms waiting for response")
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, 2*time.Second)
	require.NotNil(t, resp)
	require.Zero(t, resp.StatusCode)
	require.Nil(t, resp.Body)
	require.GreaterOrEqual(t, resp.Duration, timeout)
}

func TestSendTimeoutCoversBody(t *testing.T) {
	srv := newBlockingServer(t, func(stop <-chan struct{}) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-r.Context().Done():
					return
				case <-tick.C:
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}
		}
	})

	const timeout = 300 * time.Millisecond
	start := time.Now()
	resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL, Timeout: timeout})
	elapsed := time.Since(start)

	require.ErrorIs(t, err, sender.ErrTimeout)
	require.Contains(t, err.Error(), "reading response body")
	require.GreaterOrEqual(t, elapsed, timeout)
	require.Less(t, elapsed, 2*time.Second)
	require.Zero(t, resp.StatusCode)
	require.GreaterOrEqual(t, resp.Duration, timeout)
}

func TestSendConnectionDroppedByServer(t *testing.T) {
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprintf("rst=%v", reset), func(t *testing.T) {
			srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					return
				}
				if tc, ok := conn.(*net.TCPConn); ok && reset {
					// Linger 0 turns close into a RST instead of a FIN.
					_ = tc.SetLinger(0)
				}
				_ = conn.Close()
			})
			resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL, Body: []byte("{}")})
			require.Error(t, err)
			require.NotErrorIs(t, err, sender.ErrTimeout)
			require.True(t, strings.HasPrefix(err.Error(), "sender: POST "+srv.URL+": "), err.Error())
			require.NotNil(t, resp)
			require.Zero(t, resp.StatusCode)
		})
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String() + "/x"
	require.NoError(t, ln.Close())

	resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: url})
	require.ErrorIs(t, err, syscall.ECONNREFUSED)
	require.True(t, strings.HasPrefix(err.Error(), "sender: POST "+url+": dial tcp "), err.Error())
	require.Zero(t, resp.StatusCode)
}

func TestSendDialControl(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	// A host name, so the test shows DialControl sees the resolved address.
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	errBlocked := errors.New("blocked by policy")
	var mu sync.Mutex
	var addresses []string
	control := func(allow bool) func(context.Context, string, string, syscall.RawConn) error {
		return func(_ context.Context, _, address string, _ syscall.RawConn) error {
			mu.Lock()
			addresses = append(addresses, address)
			mu.Unlock()
			if !allow {
				return errBlocked
			}
			if host, _, _ := net.SplitHostPort(address); host != "127.0.0.1" {
				// Only the IPv4 loopback has a listener.
				return errBlocked
			}
			return nil
		}
	}

	resp, err := newSender(t, &sender.Options{DialControl: control(false)}).
		Send(context.Background(), &sender.Request{URL: url})
	require.ErrorIs(t, err, errBlocked)
	require.Contains(t, err.Error(), "blocked by policy")
	require.Zero(t, resp.StatusCode)
	require.Zero(t, hits.Load())

	mu.Lock()
	require.NotEmpty(t, addresses)
	for _, a := range addresses {
		host, _, err := net.SplitHostPort(a)
		require.NoError(t, err)
		require.NotNil(t, net.ParseIP(host), "DialControl got %q, want a resolved IP", a)
	}
	mu.Unlock()

	resp, err = newSender(t, &sender.Options{DialControl: control(true)}).
		Send(context.Background(), &sender.Request{URL: url})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, int32(1), hits.Load())
}

func TestSendReusesConnections(t *testing.T) {
	var newConns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	s := newSender(t, nil)
	for range 3 {
		resp, err := s.Send(context.Background(), &sender.Request{URL: srv.URL, Body: []byte(`{"n":1}`)})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Equal(t, int32(1), newConns.Load())
}

func TestSendInvalidRequest(t *testing.T) {
	var hits atomic.Int32
	srv := newServer(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	tests := []struct {
		name string
		req  *sender.Request
		want string
	}{
		{"nil", nil, "nil request"},
		{"empty url", &sender.Request{}, "scheme"},
		{"relative", &sender.Request{URL: "/hooks"}, "scheme"},
		{"ftp", &sender.Request{URL: "ftp://example.com/x"}, "scheme"},
		{"no host", &sender.Request{URL: "http:///path"}, "missing host"},
		{"opaque", &sender.Request{URL: "http:example.com"}, "missing host"},
		{"port only", &sender.Request{URL: "http://:8080/"}, "missing host"},
		{"unparsable", &sender.Request{URL: "http://[::1/"}, "URL"},
		{"control char", &sender.Request{URL: "http://example.com/\n"}, "URL"},
		{"get", &sender.Request{URL: srv.URL, Method: http.MethodGet}, `method "GET"`},
		{"delete", &sender.Request{URL: srv.URL, Method: http.MethodDelete}, `method "DELETE"`},
		{"lower case", &sender.Request{URL: srv.URL, Method: "post"}, `method "post"`},
		{"connect", &sender.Request{URL: srv.URL, Method: http.MethodConnect}, `method "CONNECT"`},
		{"negative timeout", &sender.Request{URL: srv.URL, Timeout: -time.Second}, "negative timeout"},
		{"header injection", &sender.Request{URL: srv.URL, Header: http.Header{"X-A": {"v\r\nX-Injected: 1"}}}, "header X-A"},
		{"header name", &sender.Request{URL: srv.URL, Header: http.Header{"Bad Name": {"v"}}}, `header name "Bad Name"`},
		{"protected value", &sender.Request{URL: srv.URL, Protected: http.Header{"X-Sig": {"\x00"}}}, "header X-Sig"},
	}
	s := newSender(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.Send(context.Background(), tc.req)
			require.ErrorIs(t, err, sender.ErrInvalidRequest)
			require.True(t, strings.HasPrefix(err.Error(), "sender: invalid request: "), err.Error())
			require.Contains(t, err.Error(), tc.want)
			require.NotNil(t, resp)
			require.Zero(t, resp.StatusCode)
		})
	}
	require.Zero(t, hits.Load())
}

func TestSendInvalidRequestHidesCredentials(t *testing.T) {
	for _, url := range []string{"ftp://user:s3cret@example.com/", "http://user:s3cret@[::1/"} {
		_, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: url})
		require.ErrorIs(t, err, sender.ErrInvalidRequest)
		require.NotContains(t, err.Error(), "s3cret")
	}
}

func TestSendRedactsCredentialsInErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = newSender(t, nil).Send(context.Background(), &sender.Request{URL: "http://user:s3cret@" + addr + "/x"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
	require.Contains(t, err.Error(), "user:xxxxx@"+addr)
}

func TestSendHonoursContext(t *testing.T) {
	reached := make(chan struct{}, 1)
	srv := newBlockingServer(t, func(stop <-chan struct{}) http.HandlerFunc {
		return func(_ http.ResponseWriter, r *http.Request) {
			select {
			case reached <- struct{}{}:
			default:
			}
			select {
			case <-stop:
			case <-r.Context().Done():
			}
		}
	})
	s := newSender(t, nil)

	t.Run("cancelled in flight", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, err := s.Send(ctx, &sender.Request{URL: srv.URL})
			errc <- err
		}()
		receive(t, reached)
		cancel()
		err := receive(t, errc)
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, sender.ErrTimeout)
	})

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		resp, err := s.Send(ctx, &sender.Request{URL: srv.URL})
		require.ErrorIs(t, err, context.Canceled)
		require.Zero(t, resp.StatusCode)
	})

	t.Run("caller deadline is not ErrTimeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := s.Send(ctx, &sender.Request{URL: srv.URL})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.NotErrorIs(t, err, sender.ErrTimeout)
	})
}

func TestSendConcurrent(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(w, r.Body)
	})
	s := newSender(t, &sender.Options{MaxIdleConnsPerHost: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			payload := fmt.Appendf(nil, `{"i":%d}`, i)
			resp, err := s.Send(context.Background(), &sender.Request{URL: srv.URL, Body: payload, InsecureSkipVerify: i%2 == 0})
			if err == nil && !bytes.Equal(resp.Body, payload) {
				err = fmt.Errorf("echo mismatch: %q != %q", resp.Body, payload)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// A gzip bomb (a small body that inflates enormously) is stored as its
// raw bytes up to the cap: it is never decompressed.
func TestSendGzipBombStoresAtMostTheCap(t *testing.T) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	require.NoError(t, err)
	zeros := make([]byte, 1<<20)
	for range 128 { // 128 MiB of zeros inflate from about 0.5 MiB of gzip
		_, err = zw.Write(zeros)
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	bomb := buf.Bytes()
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(bomb)
	})
	resp, err := newSender(t, nil).Send(context.Background(), &sender.Request{URL: srv.URL})
	require.NoError(t, err)
	require.Len(t, resp.Body, sender.DefaultMaxResponseBytes)
	require.Equal(t, bomb[:sender.DefaultMaxResponseBytes], resp.Body, "raw gzip bytes, not inflated")
	require.True(t, resp.Truncated)
}
