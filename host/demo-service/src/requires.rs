//! `--require HOST:PORT`: the service is healthy only while it can open a
//! TCP connection to each of its dependencies, resolving their names as
//! any client would — so a stack is healthy only if its services really
//! find each other. Checked on a thread of its own every 250 ms.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the checker last found: `None` once every dependency answered.
#[derive(Clone, Debug, Default)]
pub struct Requires {
    unmet: Arc<Mutex<Option<String>>>,
}

impl Requires {
    /// Starts checking `targets` (none: always met).
    pub fn start(targets: Vec<String>) -> Self {
        let requires = Self::default();
        if targets.is_empty() {
            return requires;
        }
        requires.set(Some(format!("{} not checked yet", targets.join(", "))));
        let shared = requires.clone();
        let _ = std::thread::Builder::new().name("requires".into()).spawn(move || {
            loop {
                shared.set(targets.iter().find_map(|t| reach(t).err()));
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        requires
    }

    /// Why the service is not yet healthy, if a dependency is unreachable.
    pub fn unmet(&self) -> Option<String> {
        self.unmet.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set(&self, value: Option<String>) {
        *self.unmet.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = value;
    }
}

fn reach(target: &str) -> Result<(), String> {
    let addrs = target.to_socket_addrs().map_err(|e| format!("{target}: cannot resolve: {e}"))?;
    let mut last = format!("{target}: no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("{target} ({addr}): {e}"),
        }
    }
    Err(last)
}
