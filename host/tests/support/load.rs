//! Clients hitting a router without pause, counting what they get back.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::http::get;

/// Clients hitting the router without pause until stopped.
pub struct Load {
    running: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    pub fn start(port: u16, clients: usize) -> Self {
        let running = Arc::new(AtomicBool::new(true));
        let ok = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let threads = (0..clients)
            .map(|_| {
                let (running, ok, failures) = (running.clone(), ok.clone(), failures.clone());
                std::thread::spawn(move || {
                    while running.load(Ordering::Relaxed) {
                        match get(port) {
                            Ok((200, _)) => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Ok((status, body)) => failures.lock().unwrap().push(format!("{status} {body}")),
                            Err(e) => failures.lock().unwrap().push(e),
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        Self { running, ok, failures, threads }
    }

    /// Stops the clients: (requests answered 200, failures).
    pub fn stop(mut self) -> (u64, Vec<String>) {
        self.running.store(false, Ordering::Relaxed);
        for t in std::mem::take(&mut self.threads) {
            t.join().unwrap();
        }
        let failures = self.failures.lock().unwrap().clone();
        (self.ok.load(Ordering::Relaxed), failures)
    }
}

impl Drop for Load {
    /// A failed test stops its clients too.
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}
