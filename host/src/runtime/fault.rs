//! Turning a failed call into the one [`CallError`] that says what really
//! happened: out of memory, out of time or fuel, a stack overflow, a Rust
//! panic with its message, or another trap — in a line, never a backtrace.

use std::time::Duration;

use wasmtime::{Trap, WasmBacktrace};

use super::error::CallError;
use super::host_state::HostState;

pub(crate) struct Faulted<'a> {
    pub plugin: &'a str,
    pub time_limit: Duration,
    pub fuel: Option<u64>,
}

impl Faulted<'_> {
    pub fn classify(&self, state: &HostState, err: &wasmtime::Error) -> CallError {
        let plugin = self.plugin.to_string();
        if let Some(requested) = state.limiter.memory_refused {
            return CallError::MemoryLimit { plugin, limit: state.limiter.memory_limit, requested };
        }
        let stderr = state.output().stderr;
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => return CallError::Timeout { plugin, limit: self.time_limit },
            Some(Trap::OutOfFuel) => {
                return CallError::OutOfFuel { plugin, limit: self.time_limit, fuel: self.fuel.unwrap_or(0) };
            }
            Some(Trap::StackOverflow) => return CallError::StackOverflow { plugin },
            // Rust guests keep a shadow stack in linear memory, below their
            // data: running past it is an out-of-bounds access from deep in
            // a recursion, not a wasm stack overflow.
            Some(Trap::MemoryOutOfBounds) if recursed(err) => return CallError::StackOverflow { plugin },
            _ => {}
        }
        if let Some((message, location)) = rust_panic(&stderr) {
            return CallError::Panic { plugin, message, location };
        }
        CallError::Trap { plugin, message: trap_line(err), stderr: tail(&stderr, 1024) }
    }
}

/// The message and location of the Rust panic the guest's default hook
/// printed: `thread '…' panicked at src/lib.rs:9:9:\nMESSAGE\nnote: …`.
pub(crate) fn rust_panic(stderr: &str) -> Option<(String, String)> {
    let at = stderr.rfind("panicked at ")?;
    let rest = &stderr[at + "panicked at ".len()..];
    let (location, after) = match rest.split_once('\n') {
        Some((loc, after)) => (loc.trim_end_matches(':').trim(), after),
        None => (rest.trim_end_matches(':').trim(), ""),
    };
    let message: Vec<&str> = after.lines().take_while(|l| !l.starts_with("note: ")).collect();
    let message = message.join("\n").trim().to_string();
    let message = if message.is_empty() { "(no message)".to_string() } else { tail(&message, 2048) };
    Some((message, location.to_string()))
}

/// Frames of one function at which a fault counts as runaway recursion.
const RECURSION_FRAMES: usize = 16;

fn recursed(err: &wasmtime::Error) -> bool {
    let Some(bt) = err.downcast_ref::<WasmBacktrace>() else { return false };
    let frames = bt.frames();
    let Some(top) = frames.first().and_then(|f| f.func_name()) else { return false };
    frames.iter().filter(|f| f.func_name() == Some(top)).count() >= RECURSION_FRAMES
}

/// The trap itself and the function it happened in.
fn trap_line(err: &wasmtime::Error) -> String {
    let what = match err.downcast_ref::<Trap>() {
        Some(trap) => trap.to_string(),
        None => tail(&err.root_cause().to_string(), 512),
    };
    let frame = err
        .downcast_ref::<WasmBacktrace>()
        .and_then(|bt| bt.frames().iter().find_map(|f| f.func_name().map(str::to_string)));
    match frame {
        Some(func) => format!("{what} (in `{}`)", tail(&func, 200)),
        None => what,
    }
}

/// The last `max` bytes of `text`, on a char boundary, trimmed.
fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_default_hooks_panic() {
        let stderr = "chatty\nthread '<unnamed>' panicked at src/lib.rs:11:9:\nconfig is broken: `x`\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        let (message, location) = rust_panic(stderr).unwrap();
        assert_eq!(message, "config is broken: `x`");
        assert_eq!(location, "src/lib.rs:11:9");
        assert!(rust_panic("nothing to see").is_none());
    }
}
