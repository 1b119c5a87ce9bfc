//! The store's writer: one thread that takes accepted reports from every request and stores
//! them in batches, one transaction per batch. Under load this turns thousands of commits a
//! second into a few hundred, and each request still gets its answer only once its report is
//! committed.

use std::sync::Arc;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::store::{Received, Store, StoreError, StoreResult, Stored};
use super::wake::Wake;

/// Largest batch per transaction; more waiting reports go in the next one.
const MAX_BATCH: usize = 512;

type Item = (Received, oneshot::Sender<StoreResult<Stored>>);

#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Item>,
}

impl Writer {
    /// Starts the writer thread. It ends when every `Writer` is dropped and the queue is empty.
    pub fn start(store: Arc<dyn Store>, wake: Arc<Wake>) -> Result<(Writer, std::thread::JoinHandle<()>), String> {
        let (queue, items) = mpsc::channel::<Item>();
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_batches(&*store, &items, &wake))
            .map_err(|e| format!("cannot start the store's writer thread: {e}"))?;
        Ok((Writer { queue }, thread))
    }

    pub async fn store(&self, received: Received) -> StoreResult<Stored> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((received, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn write_batches(store: &dyn Store, items: &mpsc::Receiver<Item>, wake: &Wake) {
    while let Ok(first) = items.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match items.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let (received, replies): (Vec<Received>, Vec<_>) = batch.into_iter().unzip();
        let queued_sync = received.iter().any(|item| item.sync);
        match store.ingest(&received) {
            Ok(outcomes) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                for reply in replies {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
        if queued_sync {
            wake.notify();
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Io("the store's writer has stopped".into())
}
