package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
)

// errNonPublicAddress is wrapped by the error refuseNonPublic returns; the
// sender wraps it again, and the message lands in the attempt's error.
var errNonPublicAddress = errors.New("refused to connect to a non-public address")

// refuseNonPublic is a sender.Options.DialControl that refuses loopback,
// private, link-local, unspecified and multicast addresses. It runs after
// DNS resolution on the address actually dialled, so a public name that
// resolves to 127.0.0.1 is refused too, and since the sender follows no
// redirects a public endpoint cannot bounce a delivery inward.
//
// It is this example's stand-in for the library's SSRF guard, which is
// still to come: it does not know about shared address space
// (100.64.0.0/10), NAT64 prefixes, or a deny list of the operator's own.
func refuseNonPublic(_ context.Context, network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s %q: %v", errNonPublicAddress, network, address, err)
	}
	host, _, _ = strings.Cut(host, "%") // an IPv6 zone, as in fe80::1%eth0
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%w: %q is not an IP address", errNonPublicAddress, host)
	}
	if kind := nonPublicKind(ip); kind != "" {
		return fmt.Errorf("%w: %s is a %s address (start the server with -allow-private-networks to allow it)", errNonPublicAddress, ip, kind)
	}
	return nil
}

// nonPublicKind names the class of a non-public address, or returns "".
// IPv4-mapped IPv6 addresses (::ffff:127.0.0.1) are classified as IPv4.
func nonPublicKind(ip net.IP) string {
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsUnspecified(), ip.To4() != nil && ip.To4()[0] == 0:
		return "unspecified"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	return ""
}
