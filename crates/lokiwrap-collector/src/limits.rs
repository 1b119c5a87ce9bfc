//! Rate limits per source address and per project, in fixed one-minute windows. Memory is
//! bounded by construction: each limiter tracks at most `max_keys` keys per window and forgets
//! them all when the window turns. When the table is full, the key seen least recently is
//! forgotten to make room: refusing new keys instead would let a flood of made-up addresses
//! lock every genuine client out.
//!
//! Keys are addresses as [`address_key`] makes them: an IPv6 client is its /64, since one
//! customer is routinely given a whole /64 and could otherwise invent addresses without end.

use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use lru::LruCache;

pub struct Limiter<K: Hash + Eq> {
    per_window: u32,
    window: Duration,
    state: Mutex<Window<K>>,
}

struct Window<K: Hash + Eq> {
    started: Instant,
    counts: LruCache<K, u32>,
}

impl<K: Hash + Eq> Limiter<K> {
    pub fn per_minute(per_window: u32, max_keys: usize) -> Limiter<K> {
        Limiter::new(per_window, Duration::from_secs(60), max_keys)
    }

    pub fn new(per_window: u32, window: Duration, max_keys: usize) -> Limiter<K> {
        Limiter {
            per_window,
            window,
            state: Mutex::new(Window {
                started: Instant::now(),
                counts: LruCache::new(NonZeroUsize::new(max_keys).unwrap_or(NonZeroUsize::MIN)),
            }),
        }
    }

    /// Counts one request for `key`. `Err` holds the whole seconds until the window turns,
    /// for `Retry-After`.
    pub fn check(&self, key: K) -> Result<(), u64> {
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.duration_since(state.started) >= self.window {
            state.started = now;
            state.counts.clear();
        }
        let left = self.window.saturating_sub(now.duration_since(state.started));
        let limit = self.per_window;
        match state.counts.get_mut(&key) {
            Some(count) if *count >= limit => Err(left.as_secs().max(1)),
            Some(count) => {
                *count += 1;
                Ok(())
            }
            None => {
                // A full table forgets its least recently seen key (`push` evicts it).
                state.counts.push(key, 1);
                Ok(())
            }
        }
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.state.lock().map(|state| state.counts.len()).unwrap_or(0)
    }
}

/// The key a client address is counted under: IPv4 as it is (an IPv4 address reached over
/// IPv6 included), IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

/// The client's address: the peer, unless the peer is a trusted proxy, in which case the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Anything further left
/// was written by the client and can be forged.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if !trusted.contains(&peer_ip) {
        return peer_ip;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .map(canonical)
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer_ip)
}

/// An IPv4 address reached over IPv6 (`::ffff:1.2.3.4`) is the same client as `1.2.3.4`.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_after_the_limit_is_refused_and_others_are_not() {
        let limiter = Limiter::per_minute(3, 100);
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limiter.check("b").is_ok());
    }

    #[test]
    fn the_window_turning_forgets_every_key() {
        let limiter = Limiter::new(1, Duration::from_millis(50), 100);
        assert!(limiter.check(1).is_ok());
        assert!(limiter.check(1).is_err());
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.check(1).is_ok());
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn a_flood_of_new_keys_stays_within_the_bound_and_refuses_nobody_new() {
        let limiter = Limiter::per_minute(10, 1000);
        let refused = (0..100_000u32).filter(|key| limiter.check(*key).is_err()).count();
        assert_eq!(limiter.tracked(), 1000);
        assert_eq!(refused, 0);
    }

    #[test]
    fn a_key_in_use_outlives_a_flood_and_keeps_its_count() {
        // 1,000 new keys through a table of 100; the busy key is seen every 40 of them.
        let limiter = Limiter::per_minute(25, 100);
        for round in 0..1000u32 {
            if round % 40 == 0 {
                assert!(limiter.check(u32::MAX).is_ok());
            }
            assert!(limiter.check(round).is_ok());
        }
        assert!(
            limiter.check(u32::MAX).is_err(),
            "the busy key was forgotten and its count reset"
        );
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", xff.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let spoof = headers("6.6.6.6, 203.0.113.9");
        let from_proxy = SocketAddr::new(proxy, 4000);
        let direct: SocketAddr = "198.51.100.7:4000".parse().unwrap();
        assert_eq!(client_ip(direct, &spoof, &[proxy]), direct.ip());
        assert_eq!(
            client_ip(from_proxy, &spoof, &[proxy]),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_ip(from_proxy, &HeaderMap::new(), &[proxy]), proxy);
        assert_eq!(client_ip(from_proxy, &spoof, &[]), proxy);
    }
}
