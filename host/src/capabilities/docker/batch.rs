//! The batch calls of the `docker` capability: run or remove many
//! containers in one guest call, concurrently on the host.
//!
//! A guest call is synchronous, so a platform plugin starting N containers
//! one call at a time pays N engine round trips end to end (~0.45 s each
//! for create + start + inspect). Here they overlap, bounded so one
//! rollout does not flood the engine.

use std::future::Future;

use futures_util::StreamExt;

use crate::runtime::bindings::platform::hoist::plugin::docker::{ContainerInfo, ContainerSpec, DockerError};

use super::client::DockerClient;

/// Most engine operations one batch runs at a time.
pub const BATCH_CONCURRENCY: usize = 8;
/// Most specs or ids one batch call accepts (the host allocates the
/// results outside the guest's memory limit).
pub const MAX_BATCH: usize = 1000;

/// Runs `work` on every item, at most `limit` at a time, and returns the
/// results in the order of `items`.
pub async fn bounded<T, R, F, Fut>(items: Vec<T>, limit: usize, work: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R>,
{
    futures_util::stream::iter(items).map(work).buffered(limit.max(1)).collect().await
}

fn too_many(what: &str, count: usize) -> DockerError {
    DockerError::Other(format!(
        "{what}: {count} in one call, more than the {MAX_BATCH} the host accepts; split the batch"
    ))
}

impl DockerClient {
    /// Creates, starts and inspects each container (see the WIT's
    /// `run-containers`).
    pub async fn run_containers(&self, specs: Vec<ContainerSpec>) -> Vec<Result<ContainerInfo, DockerError>> {
        if specs.len() > MAX_BATCH {
            let error = too_many("run-containers", specs.len());
            return specs.iter().map(|_| Err(error.clone())).collect();
        }
        bounded(specs, BATCH_CONCURRENCY, |spec| self.run_container(spec)).await
    }

    /// Stops and removes each container (see the WIT's `remove-containers`).
    pub async fn remove_containers(&self, ids: Vec<String>, timeout_secs: u32) -> Vec<Result<(), DockerError>> {
        if ids.len() > MAX_BATCH {
            let error = too_many("remove-containers", ids.len());
            return ids.iter().map(|_| Err(error.clone())).collect();
        }
        bounded(ids, BATCH_CONCURRENCY, |id| async move {
            match self.stop_container(&id, timeout_secs).await {
                Ok(()) | Err(DockerError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
            match self.remove_container(&id).await {
                Ok(()) | Err(DockerError::NotFound(_)) => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn run_container(&self, spec: ContainerSpec) -> Result<ContainerInfo, DockerError> {
        let id = self.create_container(spec).await?;
        if let Err(e) = self.start_container(&id).await {
            // Do not leave a created, never-started container behind.
            let _ = self.remove_container(&id).await;
            return Err(e);
        }
        self.inspect_container(&id).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn keeps_the_order_and_the_limit() {
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u64> = (0..20).collect();
        let out = bounded(items, 8, |i| {
            let (running, most) = (&running, &most);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                // Later items finish first: the order must still hold.
                tokio::time::sleep(Duration::from_millis(40 - 2 * (i % 8))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 10
            }
        })
        .await;
        assert_eq!(out, (0..20).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 8);
    }
}
