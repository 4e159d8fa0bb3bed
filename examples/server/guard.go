package main

import "github.com/webhookkit/webhooks/transport/sender"

// senderOptions configures the sender with the library's SSRF guard
// ([sender.Guard]), which sender.New turns on by default: deliveries to
// loopback, private, link-local, shared (100.64.0.0/10), multicast,
// reserved and other non-public addresses, including NAT64, 6to4 and
// Teredo forms and IPv4-mapped IPv6, are refused. The check runs at dial
// time, after DNS resolution, so a public name that resolves to 127.0.0.1
// is refused too; hosts written as ambiguous IP literals (127.1,
// 2130706433, 0177.0.0.1) are refused before any network activity. A
// refused attempt fails with an error wrapping [sender.ErrBlockedAddress].
//
// allowPrivate (the -allow-private-networks flag) turns the guard off, for
// receivers on this machine or the local network.
func senderOptions(allowPrivate bool) *sender.Options {
	return &sender.Options{AllowPrivateNetworks: allowPrivate}
}
