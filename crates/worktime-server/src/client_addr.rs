//! The client's address for per-address rate limits: the TCP peer, or —
//! only when that peer is a trusted reverse proxy (`--trusted-proxy CIDR`)
//! — the address the proxies recorded in `Forwarded` (RFC 7239) or
//! `X-Forwarded-For`.
//!
//! Those headers are walked from the right (the hop nearest to us) past
//! every trusted proxy; the first address that is not a trusted proxy is
//! the client. Entries further left were written by whoever sent the
//! request and are never believed. A peer outside the trusted set is the
//! client, whatever headers it sends, so nobody can pick their own bucket.
//! Hand-written: no well-kept crate does this walk over both headers for
//! a plain `HeaderMap` (tower-governor's extractors trust the leftmost entry).

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The reverse proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Trusts peers in these networks.
    pub fn new(nets: Vec<IpNet>) -> Self {
        TrustedProxies(nets)
    }

    /// Parses `--trusted-proxy` values: CIDR (`10.0.0.0/8`, `::1/128`) or a
    /// single address (`127.0.0.1`).
    pub fn parse(values: &[String]) -> Result<Self, String> {
        values
            .iter()
            .map(|v| {
                let v = v.trim();
                v.parse::<IpNet>()
                    .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("--trusted-proxy {v:?} is not an address or a CIDR network (like 10.0.0.0/8)"))
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers).or_else(|| x_forwarded_for(headers));
        let Some(hops) = hops else {
            return peer;
        };
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                // An obfuscated or unknown hop: the last address we could
                // trust is as far as we can tell.
                None => break,
                Some(ip) => {
                    client = *ip;
                    if !self.trusts(*ip) {
                        break;
                    }
                }
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 compares as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Every `for=` of every `Forwarded` header, in order; `None` entries are
/// ones that are not an address (`unknown`, `_hidden`).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    for value in headers.get_all("forwarded") {
        let value = value.to_str().ok()?;
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (key, v) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then(|| v.trim())
            });
            if let Some(node) = node {
                hops.push(node_ip(node.trim_matches('"')));
            }
        }
    }
    (!hops.is_empty()).then_some(hops)
}

/// Every entry of every `X-Forwarded-For` header, in order.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value.to_str().ok()?;
        hops.extend(value.split(',').map(|v| node_ip(v.trim())));
    }
    (!hops.is_empty()).then_some(hops)
}

/// An address with or without a port: `192.0.2.1`, `192.0.2.1:80`,
/// `[2001:db8::1]:80`, `2001:db8::1`.
fn node_ip(node: &str) -> Option<IpAddr> {
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(ip, _)| ip.parse().ok())
        })
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(nets: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&nets.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(trusted.client(ip("192.0.2.9"), &h), ip("192.0.2.9"));
        assert_eq!(
            TrustedProxies::default().client(ip("10.0.0.1"), &h),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        // The client forged "6.6.6.6"; proxy 10.0.0.2 added the real peer.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.2")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h), ip("198.51.100.7"));
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(trusted.client(ip("10.1.1.1"), &h), ip("2001:db8::7"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_odd_hops_stop_the_walk() {
        let trusted = proxies(&["127.0.0.0/8"]);
        let h = headers(&[
            ("forwarded", "for=203.0.113.5"),
            ("x-forwarded-for", "1.1.1.1"),
        ]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h), ip("203.0.113.5"));
        let h = headers(&[("x-forwarded-for", "203.0.113.5, unknown")]);
        assert_eq!(trusted.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
        assert_eq!(
            trusted.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_value_named() {
        let err = TrustedProxies::parse(&["10.0.0.0/33".into()]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(TrustedProxies::parse(&["proxy.local".into()]).is_err());
    }
}
