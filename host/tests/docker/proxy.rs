//! A unix-socket forwarder in front of the real Docker engine, so a test
//! can make "the engine" unreachable and bring it back without stopping the
//! machine's dockerd, which other tests share. `cut` closes the listener,
//! removes the socket file and shuts every forwarded connection down;
//! `restore` listens again at the same path.

use std::io::ErrorKind;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct EngineProxy {
    path: PathBuf,
    upstream: PathBuf,
    /// Both ends of every forwarded connection, to shut down on `cut`.
    open: Arc<Mutex<Vec<UnixStream>>>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

/// The real engine's socket: DOCKER_HOST when it is a unix socket.
fn real_engine() -> PathBuf {
    match std::env::var("DOCKER_HOST") {
        Ok(h) if h.starts_with("unix://") => PathBuf::from(h.trim_start_matches("unix://")),
        _ => PathBuf::from("/var/run/docker.sock"),
    }
}

impl EngineProxy {
    /// Listens at `path`, forwarding to the real engine.
    pub fn start(path: &Path) -> Self {
        let mut proxy = Self {
            path: path.to_path_buf(),
            upstream: real_engine(),
            open: Arc::default(),
            stop: Arc::default(),
            acceptor: None,
        };
        proxy.restore();
        proxy
    }

    /// `unix://PATH`, for DOCKER_HOST.
    pub fn address(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// The engine becomes unreachable: no listener, no socket file, and
    /// every open connection shut down.
    pub fn cut(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.acceptor.take() {
            t.join().unwrap();
        }
        let _ = std::fs::remove_file(&self.path);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }

    /// The engine answers again at the same address.
    pub fn restore(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = UnixListener::bind(&self.path).unwrap();
        // Non-blocking so the acceptor notices `cut` within 20 ms.
        listener.set_nonblocking(true).unwrap();
        self.stop = Arc::new(AtomicBool::new(false));
        let (stop, open, upstream) = (self.stop.clone(), self.open.clone(), self.upstream.clone());
        self.acceptor = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => forward(client, &upstream, &open),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }));
    }
}

/// Pipes one client connection to the engine, both ways, on two threads.
fn forward(client: UnixStream, upstream: &Path, open: &Mutex<Vec<UnixStream>>) {
    let _ = client.set_nonblocking(false);
    let Ok(engine) = UnixStream::connect(upstream) else { return };
    let (Ok(c2), Ok(e2), Ok(c3), Ok(e3)) =
        (client.try_clone(), engine.try_clone(), client.try_clone(), engine.try_clone())
    else {
        return;
    };
    {
        let mut open = open.lock().unwrap();
        open.push(c3);
        open.push(e3);
    }
    pipe(client, engine);
    pipe(e2, c2);
}

fn pipe(mut from: UnixStream, mut to: UnixStream) {
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
