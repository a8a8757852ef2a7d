//! A plugin's stdout and stderr: captured per call into bounded buffers,
//! never written to the host's own streams. Writes past the cap are
//! accepted and counted, not refused, because Rust's `println!` panics when
//! its stream fails and a chatty plugin must not become a broken one.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes kept of each of a call's stdout and stderr.
pub const OUTPUT_CAPACITY: usize = 16 * 1024;

/// The largest write permit handed to the guest at once.
const PERMIT: usize = 64 * 1024;

#[derive(Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: u64,
}

/// One captured stream; clones share the buffer.
#[derive(Clone)]
pub struct CapturedStream {
    buffer: Arc<Mutex<Buffer>>,
    capacity: usize,
}

impl CapturedStream {
    pub fn new(capacity: usize) -> Self {
        Self { buffer: Arc::default(), capacity }
    }

    fn push(&self, bytes: &[u8]) {
        let mut b = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let room = self.capacity.saturating_sub(b.kept.len());
        let (keep, drop) = bytes.split_at(room.min(bytes.len()));
        b.kept.extend_from_slice(keep);
        b.dropped = b.dropped.saturating_add(drop.len() as u64);
    }

    /// What was written, as text, with a marker when some was dropped.
    pub fn text(&self) -> String {
        let b = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::from_utf8_lossy(&b.kept).into_owned();
        if b.dropped > 0 {
            text.push_str(&format!(
                "\n…({} more bytes dropped: the cap is {} bytes per call)",
                b.dropped, self.capacity
            ));
        }
        text
    }
}

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CapturedStream {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// What one call printed and logged, for its decision-log record.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PluginOutput {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stdout: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stderr: String,
    /// Lines sent through the `log` capability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<super::LogLine>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub logs_dropped: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PluginOutput {
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty() && self.logs.is_empty() && self.logs_dropped == 0
    }

    /// As stored in a decision record: `None` when the call said nothing.
    pub fn to_record(&self) -> Option<serde_json::Value> {
        if self.is_empty() { None } else { serde_json::to_value(self).ok() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_start_and_counts_the_rest() {
        let s = CapturedStream::new(8);
        s.push(b"hello ");
        s.push(b"world!");
        let text = s.text();
        assert!(text.starts_with("hello wo"), "{text}");
        assert!(text.contains("4 more bytes dropped"), "{text}");
    }
}
