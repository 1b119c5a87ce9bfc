//! Accepting connections so that slow or idle clients cannot take the collector down. Every
//! connection holds a file descriptor and some memory until it ends, so each is bounded:
//!
//! - **How many:** at most `limits.max_connections` at once (never more than the process's
//!   descriptor limit allows, less a reserve for the database and GitHub), and at most
//!   `limits.connections_per_address` from one client address (an IPv6 /64 counts as one). A
//!   connection over either cap is closed as soon as it is accepted, which frees its descriptor
//!   at once; waiting in the listen queue instead would starve every other client.
//! - **How long:** the request head must arrive within `limits.header_timeout_secs` (this also
//!   closes a kept-alive connection idle that long); bodies are read under their own deadline in
//!   the handlers; and a connection is asked to close after `limits.connection_lifetime_secs`.
//! - **Which protocol:** HTTP/1.1 only; clients and reverse proxies speak it, and a second
//!   protocol would be a second set of limits to get right.
//!
//! The accept loop survives running out of descriptors: it logs once per interval and waits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::limits::address_key;
use super::throttle::Throttled;

/// Descriptors kept back from connections: the database, its journal, GitHub calls, the
/// auto-fix commands and the listening socket itself.
const RESERVED_DESCRIPTORS: u64 = 64;
/// How long an ended server waits for connections to finish their current request.
const DRAIN_ON_SHUTDOWN: Duration = Duration::from_secs(10);

/// The bounds on connections, from `[limits]`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub per_address: usize,
    pub header_timeout: Duration,
    pub lifetime: Duration,
}

impl ConnectionLimits {
    /// The configured cap, lowered to what the descriptor limit (`RLIMIT_NOFILE`) allows.
    pub fn fitted_to_descriptors(mut self) -> ConnectionLimits {
        if let Ok((soft, _)) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
            let room = soft.saturating_sub(RESERVED_DESCRIPTORS).max(1);
            self.max_connections = self.max_connections.min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        self
    }
}

/// Connections open per client address, so that one address cannot hold them all.
#[derive(Default)]
struct PerAddress {
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in the per-address count; gives it back when dropped.
struct AddressSlot {
    table: Arc<PerAddress>,
    key: IpAddr,
}

impl PerAddress {
    fn take(table: &Arc<PerAddress>, key: IpAddr, cap: usize) -> Option<AddressSlot> {
        let mut open = table.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= cap {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            table: table.clone(),
            key,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// What the accept loop counts for `/v1/stats`.
pub trait Counts: Send + Sync + 'static {
    fn add(&self, name: &str);
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open connections finish
/// their request (up to [`DRAIN_ON_SHUTDOWN`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted_proxies: Arc<Vec<IpAddr>>,
    counts: Arc<dyn Counts>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = Arc::new(PerAddress::default());
    let (stop, stopping) = watch::channel(false);
    let accept_errors = Throttled::new("cannot accept a connection", Duration::from_secs(10));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors (EMFILE, ENFILE) or a connection reset before it was
                    // accepted: wait a little rather than spin, and say so once in a while.
                    accept_errors.error(&error);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            counts.add("connections_refused_total");
            drop(stream);
            continue;
        };
        // Behind a reverse proxy every connection comes from the proxy: only the total applies.
        let address = if trusted_proxies.contains(&super::limits::canonical(peer.ip())) {
            None
        } else {
            match PerAddress::take(&per_address, address_key(peer.ip()), limits.per_address) {
                Some(address) => Some(address),
                None => {
                    counts.add("connections_refused_address");
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _held = (slot, address);
            let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                let router = router.clone();
                async move { tower::ServiceExt::oneshot(router, request).await }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(64 * 1024);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let lifetime = tokio::time::sleep(limits.lifetime);
            tokio::pin!(lifetime);
            tokio::select! {
                _ = connection.as_mut() => return,
                () = &mut lifetime => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
            // Finish the request in hand, then close.
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN_ON_SHUTDOWN, connection).await;
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: having them all back means all have ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_ON_SHUTDOWN + Duration::from_secs(1), slots.acquire_many(all)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_back_as_connections_end() {
        let table = Arc::new(PerAddress::default());
        let key: IpAddr = "192.0.2.1".parse().unwrap();
        let first = PerAddress::take(&table, key, 2).unwrap();
        let _second = PerAddress::take(&table, key, 2).unwrap();
        assert!(PerAddress::take(&table, key, 2).is_none());
        assert!(PerAddress::take(&table, "192.0.2.2".parse().unwrap(), 2).is_some());
        drop(first);
        assert!(PerAddress::take(&table, key, 2).is_some());
    }

    #[test]
    fn the_cap_never_exceeds_the_descriptor_limit() {
        let limits = ConnectionLimits {
            max_connections: usize::MAX,
            per_address: 1,
            header_timeout: Duration::from_secs(1),
            lifetime: Duration::from_secs(1),
        }
        .fitted_to_descriptors();
        let (soft, _) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
        assert!(limits.max_connections as u64 <= soft.max(RESERVED_DESCRIPTORS + 1));
    }
}
