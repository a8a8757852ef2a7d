//! The threads strategy, health and admission calls run on: a fixed number
//! of plain threads outside any tokio runtime. Off the runtime, because
//! wasmtime-wasi's synchronous streams and polls enter a tokio runtime of
//! their own (which panics on a runtime worker); fixed, so a burst of slow
//! plugins queues instead of starving the control plane of threads. A call
//! is bounded by its own deadline, so the queue always drains.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send>;

/// Why a call submitted to the pool gave no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PoolError {
    #[error("the plugin call pool has stopped")]
    Stopped,
    #[error("the host failed while running the call (a bug in hoist; the call was abandoned): {0}")]
    HostPanic(String),
}

pub struct CallPool {
    jobs: Mutex<Sender<Job>>,
    threads: usize,
}

impl CallPool {
    /// A pool of `threads` workers (at least 1), named `hoist-plugin-N`.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = threads.max(1);
        for n in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("hoist-plugin-{n}")).spawn(move || work(&queue))?;
        }
        Ok(Self { jobs: Mutex::new(jobs), threads })
    }

    /// Two workers per core, at least four.
    pub fn sized_for_machine() -> std::io::Result<Self> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Self::new((cores * 2).max(4))
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    fn submit<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
        answer: impl FnOnce(Result<R, PoolError>) + Send + 'static,
    ) -> Result<(), PoolError> {
        let wrapped: Job = Box::new(move || {
            let result =
                std::panic::catch_unwind(AssertUnwindSafe(job)).map_err(|p| PoolError::HostPanic(panic_text(&p)));
            answer(result);
        });
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.send(wrapped).map_err(|_| PoolError::Stopped)
    }

    /// Runs `job` on a worker and waits for it, blocking this thread.
    pub fn run_blocking<R: Send + 'static>(&self, job: impl FnOnce() -> R + Send + 'static) -> Result<R, PoolError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(job, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().unwrap_or(Err(PoolError::Stopped))
    }

    /// Runs `job` on a worker; the caller's task waits without holding a
    /// runtime thread.
    pub async fn run<R: Send + 'static>(&self, job: impl FnOnce() -> R + Send + 'static) -> Result<R, PoolError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(job, move |r| {
            let _ = tx.send(r);
        })?;
        rx.await.unwrap_or(Err(PoolError::Stopped))
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.recv()
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

fn panic_text(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_and_survives_a_panicking_one() {
        let pool = CallPool::new(2).unwrap();
        assert_eq!(pool.run_blocking(|| 2 + 2).unwrap(), 4);
        #[allow(clippy::panic)]
        let err = pool.run_blocking(|| -> u32 { panic!("boom") }).unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        assert_eq!(pool.run_blocking(|| 7).unwrap(), 7);
    }

    #[test]
    fn its_threads_are_outside_any_runtime() {
        let pool = CallPool::new(1).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let inside = rt.block_on(pool.run(|| tokio::runtime::Handle::try_current().is_ok())).unwrap();
        assert!(!inside);
    }
}
