package auth

import (
	"net/http"
	"net/netip"
	"strings"
)

// ClientIP is the address of the client as far as it can be trusted: the TCP peer, or, when the peer is a trusted
// proxy, the right-most X-Forwarded-For entry that is not itself a trusted proxy. Entries left of that one were
// written by the client and prove nothing. The zero Addr means the address could not be determined.
func (a *Authenticator) ClientIP(r *http.Request) netip.Addr {
	return clientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), a.trustedProxies)
}

func clientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(remoteAddr)
	if !peer.IsValid() || !inPrefixes(peer, trusted) || len(xff) == 0 {
		return peer
	}
	// Several X-Forwarded-For fields form one list in order (RFC 9110 §5.3).
	hops := strings.Split(strings.Join(xff, ","), ",")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop := parseHostAddr(strings.TrimSpace(hops[i]))
		if !hop.IsValid() {
			// A garbled entry where the client's address should be: fail closed rather than guess.
			return netip.Addr{}
		}
		client = hop
		if !inPrefixes(hop, trusted) {
			return hop
		}
	}
	return client // every hop is a trusted proxy: the left-most is the closest thing to a client
}

// parseHostAddr reads "ip", "ip:port" or "[ipv6]:port", unmapping IPv4-in-IPv6 so that IPv4 prefixes match.
func parseHostAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap()
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.WithZone("").Unmap()
	}
	return netip.Addr{}
}

func inPrefixes(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// admitted applies the allow-list; with none configured every address is admitted.
func (a *Authenticator) admitted(r *http.Request) (netip.Addr, bool) {
	ip := a.ClientIP(r)
	if len(a.allow) == 0 {
		return ip, true
	}
	return ip, ip.IsValid() && inPrefixes(ip, a.allow)
}
