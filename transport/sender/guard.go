package sender

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// ErrBlockedAddress is wrapped by every error the SSRF guard returns: by
// [Guard.Control] and [Guard.CheckAddr] for a denied address, by
// [Guard.CheckURLHost], [CheckURLHost] and [Sender.CheckURLHost] for a URL
// whose host is a denied or ambiguous IP literal, and by [Sender.Send] when
// the guard refused the receiver's address (no connection was made, or,
// with a proxy, nothing was sent to the proxy). The error's text names the
// address and the reason, for example
//
//	sender: 127.0.0.1:8080 is loopback (127.0.0.0/8); blocked by the SSRF guard
var ErrBlockedAddress = errors.New("sender: address blocked by the SSRF guard")

// blockedError is the concrete error behind [ErrBlockedAddress]; Send
// unwraps it from net's dial errors so delivery history reads cleanly.
type blockedError struct {
	addr   string // what was refused: "127.0.0.1:8080", "[::1]:80" or a URL host
	host   string // the DNS name addr was resolved from, when there was one
	reason string // completes "<addr> is ..."
}

func (e *blockedError) detail() string {
	what := e.addr
	if e.host != "" {
		what += " (" + e.host + ")"
	}
	return what + " is " + e.reason + "; blocked by the SSRF guard"
}

func (e *blockedError) Error() string { return "sender: " + e.detail() }
func (e *blockedError) Unwrap() error { return ErrBlockedAddress }

// deniedRange is one entry of the deny list. When embedded is set the
// prefix is only denied if the IPv4 address it embeds (at that bit offset)
// is itself denied: NAT64 and 6to4 addresses are ordinary public IPv6
// addresses unless they smuggle a private IPv4 one.
type deniedRange struct {
	prefix   netip.Prefix
	reason   string
	embedded int // bit offset of an embedded IPv4 address; 0 = none
}

func mustRange(cidr, reason string) deniedRange {
	return deniedRange{prefix: netip.MustParsePrefix(cidr), reason: reason}
}

// deniedRanges is checked in order, so more specific entries (the
// broadcast address within 240/4, :: and ::1 within ::/96) come first.
var deniedRanges = []deniedRange{
	// IPv4 (IPv4-mapped IPv6 addresses are unmapped before the lookup).
	mustRange("0.0.0.0/8", `a "this network" address (0.0.0.0/8)`),
	mustRange("10.0.0.0/8", "a private address (10.0.0.0/8)"),
	mustRange("100.64.0.0/10", "a shared carrier-grade NAT address (100.64.0.0/10)"),
	mustRange("127.0.0.0/8", "loopback (127.0.0.0/8)"),
	mustRange("169.254.0.0/16", "link-local (169.254.0.0/16, where cloud metadata services live)"),
	mustRange("172.16.0.0/12", "a private address (172.16.0.0/12)"),
	mustRange("192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)"),
	mustRange("192.168.0.0/16", "a private address (192.168.0.0/16)"),
	mustRange("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"),
	mustRange("224.0.0.0/4", "multicast (224.0.0.0/4)"),
	mustRange("255.255.255.255/32", "the broadcast address"),
	mustRange("240.0.0.0/4", "reserved (240.0.0.0/4)"),

	// IPv6.
	mustRange("::/128", "unspecified (::)"),
	mustRange("::1/128", "loopback (::1)"),
	mustRange("::/96", "an IPv4-compatible address (::/96, deprecated)"),
	mustRange("::ffff:0:0:0/96", "an IPv4-translated address (::ffff:0:0:0/96)"),
	{prefix: netip.MustParsePrefix("64:ff9b::/96"), reason: "a NAT64 address (64:ff9b::/96)", embedded: 96},
	mustRange("64:ff9b:1::/48", "a local-use NAT64 address (64:ff9b:1::/48)"),
	mustRange("100::/64", "a discard-only address (100::/64)"),
	mustRange("2001::/32", "a Teredo address (2001::/32)"),
	{prefix: netip.MustParsePrefix("2002::/16"), reason: "a 6to4 address (2002::/16)", embedded: 16},
	mustRange("fc00::/7", "a unique local address (fc00::/7)"),
	mustRange("fe80::/10", "link-local (fe80::/10)"),
	mustRange("fec0::/10", "site-local (fec0::/10, deprecated)"),
	mustRange("ff00::/8", "multicast (ff00::/8)"),
}

// embeddedIPv4 returns the IPv4 address stored at bit offset off (a
// multiple of 8) of the IPv6 address a.
func embeddedIPv4(a netip.Addr, off int) netip.Addr {
	b := a.As16()
	i := off / 8
	return netip.AddrFrom4([4]byte{b[i], b[i+1], b[i+2], b[i+3]})
}

// Guard is the SSRF guard: it refuses connections to loopback, private,
// link-local, multicast and other non-public addresses, so a webhook owner
// cannot make the sender reach the operator's internal network.
//
// [New] installs one by default (see [Options.AllowPrivateNetworks] and
// [Options.AllowCIDRs]); use Guard directly to check addresses or URLs
// yourself, or to install the check on another dialer through
// [Guard.Control]. The zero value, and a nil *Guard, deny every range
// below and allow nothing extra; a Guard must not be modified while in
// use.
//
// Addresses are canonicalised first (IPv4-mapped IPv6 such as
// ::ffff:127.0.0.1 is treated as the IPv4 address, IPv6 zones are
// ignored). Denied: 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8,
// 169.254.0.0/16, 172.16.0.0/12, 192.0.0.0/24, 192.168.0.0/16,
// 198.18.0.0/15, 224.0.0.0/4, 240.0.0.0/4 (which includes
// 255.255.255.255); ::, ::1, ::/96 (IPv4-compatible), ::ffff:0:0:0/96
// (IPv4-translated), 64:ff9b:1::/48 (local-use NAT64), 100::/64 (discard),
// 2001::/32 (Teredo), fc00::/7, fe80::/10, fec0::/10, ff00::/8; and
// 64:ff9b::/96 (NAT64) and 2002::/16 (6to4) when the IPv4 address they
// embed is denied.
type Guard struct {
	// Allow lists prefixes the operator trusts: an address inside one of
	// them is allowed even if the deny list covers it. For NAT64 and 6to4
	// addresses a prefix containing the embedded IPv4 address counts too.
	// IPv4-mapped prefixes (::ffff:10.0.0.0/104) are treated as their IPv4
	// form. Default nil: nothing is exempt.
	Allow []netip.Prefix
}

// allowed reports whether a (canonical, zone-free) or the IPv4 address it
// embeds is in the allow list.
func (g *Guard) allowed(a, embedded netip.Addr) bool {
	if g == nil {
		return false
	}
	for _, p := range g.Allow {
		if !p.IsValid() {
			continue
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Contains(a) || (embedded.IsValid() && p.Contains(embedded)) {
			return true
		}
	}
	return false
}

// denyReason returns why a is refused, or "" when it may be dialled.
func (g *Guard) denyReason(a netip.Addr) string {
	if !a.IsValid() {
		return "not an IP address"
	}
	a = a.WithZone("").Unmap()
	for _, r := range deniedRanges {
		if !r.prefix.Contains(a) {
			continue
		}
		if r.embedded == 0 {
			if g.allowed(a, netip.Addr{}) {
				return ""
			}
			return r.reason
		}
		v4 := embeddedIPv4(a, r.embedded)
		if g.allowed(a, v4) {
			return ""
		}
		if why := g.denyReason(v4); why != "" {
			return fmt.Sprintf("%s embedding %s, which is %s", r.reason, v4, why)
		}
		return ""
	}
	return ""
}

// CheckAddr returns nil when a may be dialled, and otherwise an error
// wrapping [ErrBlockedAddress] that names a and the range it is in.
func (g *Guard) CheckAddr(a netip.Addr) error {
	if why := g.denyReason(a); why != "" {
		return &blockedError{addr: a.String(), reason: why}
	}
	return nil
}

// Control has the signature of net.Dialer.ControlContext (and of
// [Options.DialControl]): it runs after DNS resolution, once per
// connection attempt, and refuses address (an "IP:port" pair) with an
// error wrapping [ErrBlockedAddress] when [Guard.CheckAddr] would. An
// address that is not a literal IP:port is refused too. Network and the
// raw connection are not looked at.
func (g *Guard) Control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &blockedError{addr: strconv.Quote(address), reason: "not an IP:port address"}
	}
	if why := g.denyReason(ap.Addr()); why != "" {
		return &blockedError{addr: address, reason: why}
	}
	return nil
}

// CheckURLHost checks the host of rawURL without resolving it, for
// validating a webhook URL when it is created or updated. It returns an
// error wrapping [ErrBlockedAddress] when the host is
//
//   - an IP literal in a denied range (IPv4-mapped and other IPv6 forms
//     included), unless [Guard.Allow] covers it;
//   - an ambiguous IP literal: a host made of numbers that is not a
//     canonical dotted quad, such as 2130706433, 0177.0.0.1, 127.1, 0x7f.1
//     or 127.0.0.1. (trailing dot). Go's resolver treats these as DNS
//     names while browsers, curl and the C library read them as IPv4
//     addresses, so they are refused whatever address they spell;
//   - the name localhost or a name under .localhost, unless Allow covers
//     127.0.0.1 or ::1.
//
// Other DNS names pass: what they resolve to can change after validation,
// which is why the dial-time check ([Guard.Control]) is the one that
// protects. A rawURL that does not parse returns a plain error; one
// without a host returns nil (reporting that is the caller's job).
func (g *Guard) CheckURLHost(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the url.Error would quote credentials
		}
		return fmt.Errorf("sender: invalid URL: %w", err)
	}
	return g.checkHost(u.Hostname())
}

// CheckURLHost is [Guard.CheckURLHost] with allow as [Guard.Allow]: the
// create-time check matching a Sender built with [Options.AllowCIDRs] set
// to allow. Prefer [Sender.CheckURLHost], which also honours
// [Options.AllowPrivateNetworks].
func CheckURLHost(rawURL string, allow []netip.Prefix) error {
	return (&Guard{Allow: allow}).CheckURLHost(rawURL)
}

// checkHost applies the resolution-free checks to a URL host as
// url.URL.Hostname returns it (no brackets, zone unescaped).
func (g *Guard) checkHost(host string) error {
	if host == "" {
		return nil
	}
	a, kind := parseHostLiteral(host)
	switch kind {
	case literalIP:
		if why := g.denyReason(a); why != "" {
			return &blockedError{addr: host, reason: why}
		}
		return nil
	case literalAmbiguous:
		why := "an ambiguous IP literal (write IPv4 addresses as four decimal numbers without leading zeros)"
		if a.IsValid() {
			why = fmt.Sprintf("an ambiguous IP literal that other resolvers read as %s (write IPv4 addresses as four decimal numbers without leading zeros)", a)
		}
		return &blockedError{addr: strconv.Quote(host), reason: why}
	case literalInvalid:
		return &blockedError{addr: strconv.Quote(host), reason: "not a valid IP literal"}
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		if g.denyReason(netip.IPv6Loopback()) == "" || g.denyReason(netip.AddrFrom4([4]byte{127, 0, 0, 1})) == "" {
			return nil
		}
		return &blockedError{addr: strconv.Quote(host), reason: "a loopback name (RFC 6761)"}
	}
	return nil
}

// checkResolved is checkHost followed, for a DNS name, by a lookup whose
// every address must pass: the check made before handing a request to a
// proxy, which connects on our behalf where the dial-time guard cannot see.
func (g *Guard) checkResolved(ctx context.Context, r *net.Resolver, host string) error {
	if err := g.checkHost(host); err != nil {
		return err
	}
	if _, kind := parseHostLiteral(host); kind != literalNone {
		return nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("sender: resolving %s to check it before using the proxy: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("sender: resolving %s to check it before using the proxy: no addresses", host)
	}
	for _, a := range addrs {
		if why := g.denyReason(a); why != "" {
			return &blockedError{addr: a.WithZone("").Unmap().String(), host: host, reason: why}
		}
	}
	return nil
}

type literalKind int

const (
	literalNone      literalKind = iota // a DNS name
	literalIP                           // a canonical IPv4 or IPv6 literal
	literalAmbiguous                    // numeric, but not a canonical dotted quad
	literalInvalid                      // looks like IPv6 but does not parse
)

// parseHostLiteral classifies a URL host. For literalAmbiguous the
// returned address, when valid, is what the WHATWG URL standard (and the C
// library's inet_aton, which curl and getaddrinfo use) make of the host;
// the WHATWG rule is also what decides ambiguity: a host whose last label
// is a number is parsed as IPv4 there.
func parseHostLiteral(host string) (netip.Addr, literalKind) {
	h := strings.ToLower(foldFullwidth(host))
	if a, err := netip.ParseAddr(h); err == nil {
		return a, literalIP
	}
	if strings.Contains(h, ":") {
		return netip.Addr{}, literalInvalid
	}
	labels := strings.Split(h, ".")
	if len(labels) > 1 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	if !isNumberLabel(labels[len(labels)-1]) {
		return netip.Addr{}, literalNone
	}
	a, _ := parseLooseIPv4(labels)
	return a, literalAmbiguous
}

// isNumberLabel reports whether s is decimal digits or 0x plus hex digits
// (possibly none): the WHATWG "ends in a number" test for one label.
func isNumberLabel(s string) bool {
	if s == "" {
		return false
	}
	if rest, ok := strings.CutPrefix(s, "0x"); ok {
		return strings.Trim(rest, "0123456789abcdef") == ""
	}
	return strings.Trim(s, "0123456789") == ""
}

// parseLooseIPv4 implements the WHATWG IPv4 parser (the same forms as
// inet_aton): one to four parts, each decimal, octal (leading 0) or hex
// (0x), the last part filling the remaining bytes.
func parseLooseIPv4(parts []string) (netip.Addr, bool) {
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		base := 10
		switch {
		case strings.HasPrefix(p, "0x"):
			base, p = 16, p[2:]
			if p == "" {
				p = "0"
			}
		case len(p) > 1 && p[0] == '0':
			base, p = 8, p[1:]
		case p == "":
			return netip.Addr{}, false
		}
		n, err := strconv.ParseUint(p, base, 64)
		if err != nil {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			v = v<<8 | n
			continue
		}
		rem := uint(8 * (4 - i)) // bits the last part fills
		if n >= 1<<rem {
			return netip.Addr{}, false
		}
		v = v<<rem | n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// foldFullwidth maps fullwidth ASCII variants (U+FF01..U+FF5E) and the
// ideographic full stops to ASCII, as IDNA mapping does before net/http
// dials a host: "１２７．０．０．１" is dialled as 127.0.0.1. Other
// compatibility characters are left to the dial-time check.
func foldFullwidth(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		case r == 0x3002, r == 0xFF61:
			return '.'
		}
		return r
	}, s)
}
