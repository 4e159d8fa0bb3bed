package sender_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/webhookkit/webhooks/transport/sender"
)

// deniedAddrs maps each address the guard must refuse to a fragment of
// the reason it must give. Both edges of every range are listed where the
// range has edges worth testing.
var deniedAddrs = map[string]string{
	"0.0.0.0":         "this network",
	"0.255.255.255":   "this network",
	"10.0.0.0":        "private",
	"10.255.255.255":  "private",
	"100.64.0.0":      "carrier-grade NAT",
	"100.127.255.255": "carrier-grade NAT",
	"127.0.0.0":       "loopback",
	"127.0.0.1":       "loopback",
	"127.255.255.255": "loopback",
	"169.254.0.0":     "link-local",
	"169.254.169.254": "link-local",
	"169.254.255.255": "link-local",
	"172.16.0.0":      "private",
	"172.31.255.255":  "private",
	"192.0.0.0":       "IETF protocol assignment",
	"192.0.0.255":     "IETF protocol assignment",
	"192.168.0.0":     "private",
	"192.168.255.255": "private",
	"198.18.0.0":      "benchmarking",
	"198.19.255.255":  "benchmarking",
	"224.0.0.0":       "multicast",
	"239.255.255.255": "multicast",
	"240.0.0.0":       "reserved",
	"255.255.255.254": "reserved",
	"255.255.255.255": "broadcast",

	"::":           "unspecified",
	"::1":          "loopback",
	"fe80::":       "link-local",
	"fe80::1%eth0": "link-local",
	"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "link-local",
	"fc00::":  "unique local",
	"fd00::1": "unique local",
	"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "unique local",
	"ff00::":  "multicast",
	"ff02::1": "multicast",
	"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "multicast",

	// IPv4-mapped IPv6 is judged as the IPv4 address it maps.
	"::ffff:127.0.0.1":       "loopback",
	"::ffff:7f00:1":          "loopback",
	"::ffff:10.0.0.1":        "private",
	"::ffff:169.254.169.254": "link-local",
	"::ffff:0.0.0.0":         "this network",
	"::ffff:255.255.255.255": "broadcast",

	// NAT64 and 6to4 embedding a denied IPv4 address.
	"64:ff9b::7f00:1":          "NAT64 address (64:ff9b::/96) embedding 127.0.0.1, which is loopback",
	"64:ff9b::10.0.0.1":        "embedding 10.0.0.1, which is a private address",
	"64:ff9b::a9fe:a9fe":       "embedding 169.254.169.254, which is link-local",
	"64:ff9b::":                "embedding 0.0.0.0",
	"2002:7f00:1::":            "6to4 address (2002::/16) embedding 127.0.0.1, which is loopback",
	"2002:a00:1::1":            "embedding 10.0.0.1",
	"2002:a9fe:a9fe:1:2:3:4:5": "embedding 169.254.169.254",
	"2002:c0a8:101::":          "embedding 192.168.1.1",

	// Teredo, whatever it embeds.
	"2001::":                               "Teredo",
	"2001:0:4136:e378:8000:63bf:3fff:fdd2": "Teredo",
	"2001:0:ffff:ffff:ffff:ffff:ffff:ffff": "Teredo",

	// Beyond the list: other ranges that reach no public host.
	"::127.0.0.1":     "IPv4-compatible",
	"::ffff:0:7f00:1": "IPv4-translated",
	"64:ff9b:1::1":    "local-use NAT64",
	"100::1":          "discard-only",
	"fec0::1":         "site-local",
}

// allowedAddrs are public addresses, including the nearest neighbours of
// denied ranges.
var allowedAddrs = []string{
	"8.8.8.8", "1.1.1.1", "93.184.216.34", "1.0.0.0",
	"9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0",
	"126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0",
	"172.15.255.255", "172.32.0.0", "191.255.255.255", "192.0.1.0",
	"192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0",
	"223.255.255.255",
	"2606:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001:81c::200e",
	"::ffff:8.8.8.8",      // IPv4-mapped public
	"64:ff9b::808:808",    // NAT64 of 8.8.8.8
	"64:ff9b::1.1.1.1",    // NAT64 of 1.1.1.1
	"2002:808:808::",      // 6to4 of 8.8.8.8
	"2002:0808:0808:1::1", // the same, written long
	"2001:1::1",           // just past Teredo's 2001::/32
	"fbff:ffff::1",        // just below fc00::/7
}

func TestGuardDeniedAddresses(t *testing.T) {
	guards := map[string]*sender.Guard{"zero": {}, "nil": nil}
	for name, g := range guards {
		for addr, reason := range deniedAddrs {
			a := netip.MustParseAddr(addr)
			err := g.CheckAddr(a)
			require.ErrorIs(t, err, sender.ErrBlockedAddress, "%s guard, %s", name, addr)
			require.Contains(t, err.Error(), reason, addr)
			require.True(t, strings.HasPrefix(err.Error(), "sender: "), err.Error())
			require.True(t, strings.HasSuffix(err.Error(), "; blocked by the SSRF guard"), err.Error())

			hostport := netip.AddrPortFrom(a, 443).String()
			err = g.Control(context.Background(), "tcp", hostport, nil)
			require.ErrorIs(t, err, sender.ErrBlockedAddress, "%s guard, %s", name, hostport)
			require.Contains(t, err.Error(), hostport)
			require.Contains(t, err.Error(), reason, hostport)
		}
	}
}

func TestGuardAllowedAddresses(t *testing.T) {
	var g sender.Guard
	for _, addr := range allowedAddrs {
		a := netip.MustParseAddr(addr)
		require.NoError(t, g.CheckAddr(a), addr)
		require.NoError(t, g.Control(context.Background(), "tcp", netip.AddrPortFrom(a, 443).String(), nil), addr)
	}
}

func TestGuardMessages(t *testing.T) {
	var g sender.Guard
	err := g.Control(context.Background(), "tcp4", "127.0.0.1:8080", nil)
	require.EqualError(t, err, "sender: 127.0.0.1:8080 is loopback (127.0.0.0/8); blocked by the SSRF guard")
	err = g.Control(context.Background(), "tcp6", "[::ffff:7f00:1]:80", nil)
	require.EqualError(t, err, "sender: [::ffff:7f00:1]:80 is loopback (127.0.0.0/8); blocked by the SSRF guard")
	// Anything but a literal IP:port fails closed.
	for _, addr := range []string{"localhost:80", "127.0.0.1", "", "[::1]"} {
		require.ErrorIs(t, g.Control(context.Background(), "tcp", addr, nil), sender.ErrBlockedAddress, addr)
	}
	require.ErrorIs(t, g.CheckAddr(netip.Addr{}), sender.ErrBlockedAddress)
}

func TestGuardAllowList(t *testing.T) {
	g := &sender.Guard{Allow: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::ffff:10.20.0.0/112"), // mapped form of 10.20.0.0/16
		netip.MustParsePrefix("fd12:3456::/32"),
	}}
	for _, addr := range []string{
		"127.0.0.1", "127.255.255.255", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::",
		"10.20.0.1", "10.20.255.255", "::ffff:10.20.3.4", "fd12:3456::1", "8.8.8.8",
	} {
		require.NoError(t, g.CheckAddr(netip.MustParseAddr(addr)), addr)
	}
	for _, addr := range []string{"::1", "10.21.0.1", "10.0.0.1", "169.254.169.254", "fd12:3457::1", "0.0.0.0"} {
		require.ErrorIs(t, g.CheckAddr(netip.MustParseAddr(addr)), sender.ErrBlockedAddress, addr)
	}
}

// urlHostCases are create-time validation cases: URL, and "" when the URL
// must be accepted or else a fragment of the refusal.
var urlHostCases = []struct{ url, refusal string }{
	{"http://127.0.0.1/", "127.0.0.1 is loopback"},
	{"http://127.0.0.1:8080/hook?x=1", "127.0.0.1 is loopback"},
	{"https://10.1.2.3/", "10.1.2.3 is a private address"},
	{"http://169.254.169.254/latest/meta-data/", "link-local"},
	{"http://100.100.100.200/", "carrier-grade NAT"},
	{"http://0.0.0.0:80/", "this network"},
	{"http://[::1]/", "::1 is loopback"},
	{"http://[::]/", "unspecified"},
	{"http://[::ffff:127.0.0.1]/", "loopback"},
	{"http://[::ffff:7f00:1]/", "loopback"},
	{"http://[0:0:0:0:0:ffff:127.0.0.1]/", "loopback"},
	{"http://[::127.0.0.1]/", "IPv4-compatible"},
	{"http://[fe80::1%25eth0]:8080/", "link-local"},
	{"http://[fd00::1]/", "unique local"},
	{"http://[64:ff9b::7f00:1]/", "embedding 127.0.0.1"},
	{"http://[2002:7f00:1::]/", "embedding 127.0.0.1"},
	{"http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"},
	{"http://[ff02::1]/", "multicast"},
	{"http://255.255.255.255/", "broadcast"},
	// Ambiguous IPv4 forms: Go would look them up in DNS, other resolvers
	// read them as the address shown.
	{"http://2130706433/", `"2130706433" is an ambiguous IP literal that other resolvers read as 127.0.0.1`},
	{"http://0177.0.0.1/", "read as 127.0.0.1"},
	{"http://0177.0.0.01/", "read as 127.0.0.1"},
	{"http://127.1/", "read as 127.0.0.1"},
	{"http://127.0.1/", "read as 127.0.0.1"},
	{"http://0x7f.1/", "read as 127.0.0.1"},
	{"http://0X7F.0.0.1/", "read as 127.0.0.1"},
	{"http://0x7f000001/", "read as 127.0.0.1"},
	{"http://0x7f.0x0.0x0.0x1/", "read as 127.0.0.1"},
	{"http://017700000001/", "read as 127.0.0.1"},
	{"http://127.0.0.1./", "read as 127.0.0.1"},
	{"http://127.000.000.001/", "read as 127.0.0.1"},
	{"http://0/", "read as 0.0.0.0"},
	{"http://0x/", "read as 0.0.0.0"},
	{"http://2852039166/", "read as 169.254.169.254"},
	{"http://134744072/", "read as 8.8.8.8"}, // ambiguous even when public
	{"http://1.2.3.4.5/", "ambiguous IP literal (write"},
	{"http://08.0.0.1/", "ambiguous IP literal (write"},
	{"http://4294967296/", "ambiguous IP literal (write"},
	{"http://example.123/", "ambiguous IP literal"},
	// Fullwidth digits, which IDNA maps to ASCII before net/http dials.
	{"http://１２７.０.０.１/", "loopback"},
	{"http://１２７．１/", "read as 127.0.0.1"},
	// Loopback names.
	{"http://localhost/", `"localhost" is a loopback name`},
	{"http://LOCALHOST.:8080/", "loopback name"},
	{"http://api.localhost/", "loopback name"},

	{"http://8.8.8.8/", ""},
	{"https://1.1.1.1:8443/hook", ""},
	{"https://[2606:4700::1111]/", ""},
	{"http://[64:ff9b::808:808]/", ""},
	{"http://[2002:808:808::]/", ""},
	{"http://[::ffff:8.8.8.8]/", ""},
	{"https://example.com/webhooks", ""},
	{"https://localhost.example.com/", ""},
	{"https://127.0.0.1.nip.io/", ""}, // a DNS name: the dial-time check catches it
	{"https://1e100.net/", ""},
	{"https://0x.example/", ""},
	{"https://123.example.com/", ""},
	{"http:///nohost", ""}, // no host: the caller's rules report it
}

func TestCheckURLHost(t *testing.T) {
	for _, tc := range urlHostCases {
		err := sender.CheckURLHost(tc.url, nil)
		if tc.refusal == "" {
			require.NoError(t, err, tc.url)
			continue
		}
		require.ErrorIs(t, err, sender.ErrBlockedAddress, tc.url)
		require.Contains(t, err.Error(), tc.refusal, tc.url)
		require.True(t, strings.HasPrefix(err.Error(), "sender: "), err.Error())

		// The Sender's own check agrees, and is off with the guard.
		require.ErrorIs(t, sender.New(nil).CheckURLHost(tc.url), sender.ErrBlockedAddress, tc.url)
		require.NoError(t, sender.New(&sender.Options{AllowPrivateNetworks: true}).CheckURLHost(tc.url), tc.url)
	}

	err := sender.CheckURLHost("http://%31%32%37.0.0.1/", nil)
	require.Error(t, err)
	require.NotErrorIs(t, err, sender.ErrBlockedAddress)
	require.Contains(t, err.Error(), "sender: invalid URL")
}

func TestCheckURLHostAllowList(t *testing.T) {
	allow := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	s := sender.New(&sender.Options{AllowCIDRs: allow})
	for _, u := range []string{"http://127.0.0.1:9000/", "http://[::ffff:127.0.0.2]/", "http://localhost:9000/", "http://[64:ff9b::7f00:1]/"} {
		require.NoError(t, sender.CheckURLHost(u, allow), u)
		require.NoError(t, s.CheckURLHost(u), u)
	}
	// The allow list exempts addresses, not ambiguous spellings of them.
	for _, u := range []string{"http://127.1/", "http://2130706433/", "http://10.0.0.1/", "http://[::1]/"} {
		require.ErrorIs(t, sender.CheckURLHost(u, allow), sender.ErrBlockedAddress, u)
		require.ErrorIs(t, s.CheckURLHost(u), sender.ErrBlockedAddress, u)
	}
}

// fakeDNS answers A and AAAA queries from a fixed table over UDP, so the
// tests can make a DNS name resolve to loopback (as a rebinding attacker
// would) without touching the system's resolver. Unknown names get
// NXDOMAIN.
func fakeDNS(t *testing.T, names map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if resp := dnsAnswer(buf[:n], names); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", pc.LocalAddr().String())
		},
	}
}

func dnsAnswer(q []byte, names map[string][]string) []byte {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil
	}
	var labels []string
	i := 12
	for i < len(q) && q[i] != 0 {
		l := int(q[i])
		if i+1+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+5 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i+1:])
	question := q[12 : i+5]
	addrs, known := names[strings.ToLower(strings.Join(labels, "."))]

	var answers [][]byte
	for _, s := range addrs {
		a := netip.MustParseAddr(s)
		var rdata []byte
		switch {
		case qtype == 1 && a.Is4():
			b := a.As4()
			rdata = b[:]
		case qtype == 28 && a.Is6():
			b := a.As16()
			rdata = b[:]
		default:
			continue
		}
		rr := []byte{0xc0, 12} // pointer to the question's name
		rr = binary.BigEndian.AppendUint16(rr, qtype)
		rr = binary.BigEndian.AppendUint16(rr, 1)  // class IN
		rr = binary.BigEndian.AppendUint32(rr, 60) // TTL
		rr = binary.BigEndian.AppendUint16(rr, uint16(len(rdata)))
		answers = append(answers, append(rr, rdata...))
	}
	flags := uint16(0x8180) // response, recursion desired and available
	if !known {
		flags |= 3 // NXDOMAIN
	}
	resp := append([]byte{}, q[:2]...)
	resp = binary.BigEndian.AppendUint16(resp, flags)
	resp = binary.BigEndian.AppendUint16(resp, 1)
	resp = binary.BigEndian.AppendUint16(resp, uint16(len(answers)))
	resp = binary.BigEndian.AppendUint32(resp, 0) // no authority, no additional
	resp = append(resp, question...)
	for _, rr := range answers {
		resp = append(resp, rr...)
	}
	return resp
}

// testNames is what fakeDNS serves: rebind.test plays a public name whose
// DNS now points at loopback; public.test resolves to a public address.
var testNames = map[string][]string{
	"rebind.test":  {"127.0.0.1"},
	"private.test": {"10.0.0.1", "127.0.0.1", "::1"},
	"public.test":  {"93.184.216.34"},
}

// countingServer is a loopback receiver that counts the requests it gets.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "reached")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// attackURLs are URLs, with PORT for the loopback receiver's port, that
// must never reach it while the guard is on.
var attackURLs = []struct{ url, refusal string }{
	{"http://127.0.0.1:PORT/", "127.0.0.1 is loopback"},
	{"http://127.0.0.2:PORT/", "127.0.0.2 is loopback"},
	{"http://0.0.0.0:PORT/", "this network"}, // Linux connects 0.0.0.0 to the local host
	{"http://[::1]:PORT/", "::1 is loopback"},
	{"http://[::ffff:127.0.0.1]:PORT/", "loopback"},
	{"http://[::ffff:7f00:1]:PORT/", "loopback"},
	{"http://2130706433:PORT/", "read as 127.0.0.1"},
	{"http://0177.0.0.1:PORT/", "read as 127.0.0.1"},
	{"http://127.1:PORT/", "read as 127.0.0.1"},
	{"http://0x7f.1:PORT/", "read as 127.0.0.1"},
	{"http://0x7f000001:PORT/", "read as 127.0.0.1"},
	{"http://127.0.0.1.:PORT/", "read as 127.0.0.1"},
	{"http://0:PORT/", "read as 0.0.0.0"},
	{"http://１２７.０.０.１:PORT/", "loopback"},
	{"http://localhost:PORT/", "loopback name"},
	{"http://LocalHost.:PORT/", "loopback name"},
	// Resolved by DNS, refused at dial time with the name in the message.
	{"http://rebind.test:PORT/", "127.0.0.1:PORT (rebind.test) is loopback"},
	{"http://private.test:PORT/", "(private.test) is "},
	{"https://127.0.0.1:PORT/", "127.0.0.1 is loopback"},
	{"https://rebind.test:PORT/", "(rebind.test) is loopback"},
}

func TestSendNeverReachesLoopback(t *testing.T) {
	srv, hits := countingServer(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	s := sender.New(&sender.Options{Resolver: fakeDNS(t, testNames)})
	t.Cleanup(s.Close)

	for _, tc := range attackURLs {
		u := strings.ReplaceAll(tc.url, "PORT", port)
		for _, insecure := range []bool{false, true} {
			resp, err := s.Send(context.Background(), &sender.Request{URL: u, InsecureSkipVerify: insecure, Timeout: 5 * time.Second})
			require.ErrorIs(t, err, sender.ErrBlockedAddress, u)
			require.Contains(t, err.Error(), strings.ReplaceAll(tc.refusal, "PORT", port), u)
			require.True(t, strings.HasPrefix(err.Error(), "sender: POST "), err.Error())
			require.True(t, strings.HasSuffix(err.Error(), "; blocked by the SSRF guard"), err.Error())
			require.NotNil(t, resp, u)
			require.Zero(t, resp.StatusCode, u)
		}
	}
	require.Zero(t, hits.Load(), "a blocked URL reached the loopback receiver")

	// The same sender with the guard off reaches the receiver through the
	// forms Go itself dials, so it was the guard that stopped them.
	open := sender.New(&sender.Options{Resolver: fakeDNS(t, testNames), AllowPrivateNetworks: true})
	t.Cleanup(open.Close)
	reachable := []string{
		"http://127.0.0.1:PORT/", "http://0.0.0.0:PORT/", "http://[::ffff:127.0.0.1]:PORT/",
		"http://[::ffff:7f00:1]:PORT/", "http://rebind.test:PORT/", "http://１２７.０.０.１:PORT/",
	}
	for _, raw := range reachable {
		u := strings.ReplaceAll(raw, "PORT", port)
		resp, err := open.Send(context.Background(), &sender.Request{URL: u})
		require.NoError(t, err, u)
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
	}
	require.Equal(t, int32(len(reachable)), hits.Load())
}

func TestSendAllowCIDRs(t *testing.T) {
	srv, hits := countingServer(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)

	var mu sync.Mutex
	var controlled []string
	s := sender.New(&sender.Options{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Resolver:   fakeDNS(t, testNames),
		DialControl: func(_ context.Context, _, address string, _ syscall.RawConn) error {
			mu.Lock()
			defer mu.Unlock()
			controlled = append(controlled, address)
			return nil
		},
	})
	t.Cleanup(s.Close)

	// localhost also resolves to ::1, which stays blocked: the dialer falls
	// back to 127.0.0.1.
	for _, raw := range []string{"http://127.0.0.1:PORT/", "http://[::ffff:127.0.0.1]:PORT/", "http://rebind.test:PORT/", "http://localhost:PORT/"} {
		u := strings.ReplaceAll(raw, "PORT", port)
		resp, err := s.Send(context.Background(), &sender.Request{URL: u})
		require.NoError(t, err, u)
		require.Equal(t, http.StatusOK, resp.StatusCode, u)
		s.Close() // force a new dial for the next URL
	}
	require.Equal(t, int32(4), hits.Load())

	// Still refused: other ranges, and ambiguous spellings of allowed ones.
	for _, raw := range []string{"http://[::1]:PORT/", "http://10.0.0.1:PORT/", "http://127.1:PORT/", "http://2130706433:PORT/"} {
		u := strings.ReplaceAll(raw, "PORT", port)
		_, err := s.Send(context.Background(), &sender.Request{URL: u})
		require.ErrorIs(t, err, sender.ErrBlockedAddress, u)
	}

	// DialControl runs after the guard: it never saw a refused address.
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, controlled)
	for _, a := range controlled {
		ap := netip.MustParseAddrPort(a)
		require.True(t, ap.Addr().Unmap().Is4() && ap.Addr().Unmap().IsLoopback(), "DialControl saw %s", a)
	}
}

func TestSendAllowPrivateNetworks(t *testing.T) {
	srv, hits := countingServer(t)
	s := sender.New(&sender.Options{AllowPrivateNetworks: true, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("8.8.8.8/32")}})
	t.Cleanup(s.Close)
	resp, err := s.Send(context.Background(), &sender.Request{URL: srv.URL})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, int32(1), hits.Load())
	require.NoError(t, s.CheckURLHost("http://127.1/"))
}

func TestSendDialControlErrorAfterGuard(t *testing.T) {
	srv, hits := countingServer(t)
	errPolicy := errors.New("refused by policy")
	var calls atomic.Int32
	control := func(context.Context, string, string, syscall.RawConn) error {
		calls.Add(1)
		return errPolicy
	}

	// Guard on: the guard refuses first and the hook is never asked.
	s := sender.New(&sender.Options{DialControl: control})
	t.Cleanup(s.Close)
	_, err := s.Send(context.Background(), &sender.Request{URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	_, err = s.Send(context.Background(), &sender.Request{URL: srv.URL})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	require.Zero(t, calls.Load())

	// Address allowed by the guard: the hook still has the last word.
	s = sender.New(&sender.Options{DialControl: control, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	t.Cleanup(s.Close)
	_, err = s.Send(context.Background(), &sender.Request{URL: srv.URL})
	require.ErrorIs(t, err, errPolicy)
	require.NotErrorIs(t, err, sender.ErrBlockedAddress)
	require.Equal(t, int32(1), calls.Load())
	require.Zero(t, hits.Load())
}

// testProxy is a plain-HTTP forward proxy on loopback. It forwards
// requests for the loopback receiver and answers any other target itself
// (the tests have no internet), recording every target it was asked for.
type testProxy struct {
	*httptest.Server
	mu      sync.Mutex
	targets []string
}

func newTestProxy(t *testing.T, receiver *httptest.Server) *testProxy {
	t.Helper()
	p := &testProxy{}
	forward := &http.Transport{} // no Proxy: never consults the environment
	t.Cleanup(forward.CloseIdleConnections)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.targets = append(p.targets, r.Method+" "+r.URL.String())
		p.mu.Unlock()
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		if r.URL.Host != receiver.Listener.Addr().String() {
			w.Header().Set("X-Test-Proxy", "answered")
			_, _ = io.WriteString(w, "proxied "+r.URL.String())
			return
		}
		out, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		resp, err := forward.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("X-Test-Proxy", "forwarded")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *testProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func TestSendEgressProxy(t *testing.T) {
	receiver, hits := countingServer(t)
	proxy := newTestProxy(t, receiver)
	proxyURL, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	resolver := fakeDNS(t, testNames)
	recv := receiver.Listener.Addr().String()

	// The proxy is on loopback, a denied range: as operator configuration
	// it is exempt, but the targets are still checked.
	s := sender.New(&sender.Options{EgressProxy: proxyURL, Resolver: resolver})
	t.Cleanup(s.Close)

	for _, tc := range []struct{ url, refusal string }{
		{"http://" + recv + "/", "127.0.0.1 is loopback"},
		{"https://" + recv + "/", "127.0.0.1 is loopback"},
		{"http://10.1.2.3/", "private"},
		{"http://169.254.169.254/latest/meta-data/", "link-local"},
		{"http://[::ffff:7f00:1]/", "loopback"},
		{"http://2130706433/", "read as 127.0.0.1"},
		{"http://localhost/", "loopback name"},
		{"http://rebind.test/", "127.0.0.1 (rebind.test) is loopback"},
		{"https://rebind.test/", "127.0.0.1 (rebind.test) is loopback"},
		{"http://private.test/", "(private.test) is "},
	} {
		_, err := s.Send(context.Background(), &sender.Request{URL: tc.url})
		require.ErrorIs(t, err, sender.ErrBlockedAddress, tc.url)
		require.Contains(t, err.Error(), tc.refusal, tc.url)
	}
	// A name the sender cannot resolve is not handed to the proxy either.
	_, err = s.Send(context.Background(), &sender.Request{URL: "http://nxdomain.test/"})
	require.Error(t, err)
	require.NotErrorIs(t, err, sender.ErrBlockedAddress)
	require.Contains(t, err.Error(), "before using the proxy")
	require.Empty(t, proxy.seen(), "a refused target reached the proxy")

	// Public targets go through the proxy, which answers for them.
	for _, target := range []string{"http://8.8.8.8/hook", "http://public.test/hook", "http://[2606:4700::1111]:8080/x"} {
		resp, err := s.Send(context.Background(), &sender.Request{URL: target})
		require.NoError(t, err, target)
		require.Equal(t, http.StatusOK, resp.StatusCode, target)
		require.Equal(t, "answered", resp.Header.Get("X-Test-Proxy"), target)
		require.Equal(t, "proxied "+target, string(resp.Body))
	}
	require.Equal(t, []string{"POST http://8.8.8.8/hook", "POST http://public.test/hook", "POST http://[2606:4700::1111]:8080/x"}, proxy.seen())
	require.Zero(t, hits.Load())

	// An operator allow-list lets an internal target through the proxy.
	allowed := sender.New(&sender.Options{
		EgressProxy: proxyURL, Resolver: resolver,
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8")},
	})
	t.Cleanup(allowed.Close)
	resp, err := allowed.Send(context.Background(), &sender.Request{URL: "http://" + recv + "/hook"})
	require.NoError(t, err)
	require.Equal(t, "forwarded", resp.Header.Get("X-Test-Proxy"))
	require.Equal(t, "reached", string(resp.Body))
	require.Equal(t, int32(1), hits.Load())
	resp, err = allowed.Send(context.Background(), &sender.Request{URL: "http://10.1.2.3/hook"})
	require.NoError(t, err)
	require.Equal(t, "answered", resp.Header.Get("X-Test-Proxy"))
	_, err = allowed.Send(context.Background(), &sender.Request{URL: "http://192.168.1.1/"})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	require.Equal(t, "POST http://10.1.2.3/hook", proxy.seen()[len(proxy.seen())-1])

	// The proxy may be named; its dial is still exempt from the guard.
	named := *proxyURL
	named.Host = strings.Replace(named.Host, "127.0.0.1", "localhost", 1)
	s = sender.New(&sender.Options{EgressProxy: &named, Resolver: resolver})
	t.Cleanup(s.Close)
	resp, err = s.Send(context.Background(), &sender.Request{URL: "http://public.test/named"})
	require.NoError(t, err)
	require.Equal(t, "proxied http://public.test/named", string(resp.Body))
	_, err = s.Send(context.Background(), &sender.Request{URL: "http://rebind.test/named"})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	require.Equal(t, "POST http://public.test/named", proxy.seen()[len(proxy.seen())-1])
}

func TestSendProxyFuncIsGuarded(t *testing.T) {
	receiver, _ := countingServer(t)
	proxy := newTestProxy(t, receiver)
	proxyURL, err := url.Parse(proxy.URL)
	require.NoError(t, err)
	viaProxy := func(*http.Request) (*url.URL, error) { return proxyURL, nil }

	// Unlike EgressProxy, a Proxy function's address is dialled through the
	// guard: a loopback proxy needs an allow-list entry.
	s := sender.New(&sender.Options{Proxy: viaProxy})
	t.Cleanup(s.Close)
	_, err = s.Send(context.Background(), &sender.Request{URL: "http://8.8.8.8/"})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	require.Contains(t, err.Error(), proxyURL.Host+" is loopback")
	_, err = s.Send(context.Background(), &sender.Request{URL: "http://10.1.2.3/"})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	require.Contains(t, err.Error(), "10.1.2.3 is a private address")
	require.Empty(t, proxy.seen())

	s = sender.New(&sender.Options{Proxy: viaProxy, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	t.Cleanup(s.Close)
	resp, err := s.Send(context.Background(), &sender.Request{URL: "http://8.8.8.8/"})
	require.NoError(t, err)
	require.Equal(t, "answered", resp.Header.Get("X-Test-Proxy"))
	_, err = s.Send(context.Background(), &sender.Request{URL: "http://10.1.2.3/"})
	require.ErrorIs(t, err, sender.ErrBlockedAddress)
	require.Equal(t, []string{"POST http://8.8.8.8/"}, proxy.seen())
}

// TestSendIgnoresEnvironmentProxy: proxy variables neither reroute
// deliveries nor exempt them from the guard. (net/http reads the
// variables once per process; nothing in this package's tests reads them
// earlier.)
func TestSendIgnoresEnvironmentProxy(t *testing.T) {
	receiver, hits := countingServer(t)
	proxy := newTestProxy(t, receiver)
	for _, v := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(v, proxy.URL)
	}
	for _, v := range []string{"NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
	_, port, err := net.SplitHostPort(receiver.Listener.Addr().String())
	require.NoError(t, err)
	// A name rather than 127.0.0.1, which net/http never proxies anyway.
	u := "http://rebind.test:" + port + "/"
	resolver := fakeDNS(t, testNames)

	s := sender.New(&sender.Options{Resolver: resolver})
	t.Cleanup(s.Close)
	_, err = s.Send(context.Background(), &sender.Request{URL: u})
	require.ErrorIs(t, err, sender.ErrBlockedAddress, "the environment's proxy must not bypass the guard")

	s = sender.New(&sender.Options{Resolver: resolver, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	t.Cleanup(s.Close)
	resp, err := s.Send(context.Background(), &sender.Request{URL: u})
	require.NoError(t, err)
	require.Empty(t, resp.Header.Get("X-Test-Proxy"))
	require.Equal(t, int32(1), hits.Load())
	require.Empty(t, proxy.seen(), "the environment's proxy was used")
}
