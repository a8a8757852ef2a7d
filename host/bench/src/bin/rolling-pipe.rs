//! The rolling strategy as a child-process plugin answering JSON over a pipe
//! — the architecture of go-plugin (Argo Rollouts, Nomad, Waypoint) — so the
//! benchmark can compare it with the wasm plugin on the same logic.
//! One JSON `Context` per line in, one JSON decision per line out.

use std::io::{BufRead, Write};

use hoist_sdk::strategy::{Context, Strategy};

fn main() -> std::io::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.lines() {
        let line = line?;
        let answer = match serde_json::from_str::<Context>(&line) {
            Ok(ctx) => serde_json::to_string(&rolling::Rolling::decide(ctx)),
            Err(err) => serde_json::to_string(&format!("bad input: {err}")),
        }
        .map_err(std::io::Error::other)?;
        stdout.write_all(answer.as_bytes())?;
        stdout.write_all(b"\n")?;
        stdout.flush()?;
    }
    Ok(())
}
