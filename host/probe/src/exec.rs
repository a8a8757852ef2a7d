//! The exec check: run a command, exit 0 is healthy; on timeout kill it and
//! everything it started.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::duration;

/// How much of the command's stderr we keep for the detail.
const MAX_STDERR: u64 = 4 * 1024;

pub async fn run(command: &[String], addr: SocketAddr, timeout: Duration) -> (bool, String) {
    let Some((program, args)) = command.split_first() else {
        return (false, "exec probe has an empty command".to_string());
    };
    let mut child = match Command::new(program)
        .args(args)
        .env("HOIST_PROBE_ADDR", addr.to_string())
        .env("HOIST_PROBE_HOST", addr.ip().to_string())
        .env("HOIST_PROBE_PORT", addr.port().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return (false, format!("cannot run `{program}`: {e}")),
    };
    let mut stderr = child.stderr.take();
    let finished = tokio::time::timeout(timeout, async {
        let mut captured = Vec::new();
        let read = async {
            if let Some(stderr) = stderr.as_mut() {
                // A read error only loses diagnostics, never the verdict.
                let _ = stderr.take(MAX_STDERR).read_to_end(&mut captured).await;
            }
        };
        let (status, ()) = tokio::join!(child.wait(), read);
        (status, captured)
    })
    .await;
    match finished {
        Ok((Ok(status), stderr)) => {
            let first_line = String::from_utf8_lossy(&stderr).lines().next().unwrap_or("").trim().to_string();
            let mut detail = format!("`{program}` exited with {status}");
            if !first_line.is_empty() {
                detail.push_str(": ");
                detail.push_str(&first_line);
            }
            (status.success(), detail)
        }
        Ok((Err(e), _)) => {
            kill(&mut child).await;
            (false, format!("cannot wait for `{program}`: {e}"))
        }
        Err(_) => {
            kill(&mut child).await;
            (false, format!("`{program}` timed out after {} and was killed", duration::format(timeout)))
        }
    }
}

/// SIGKILL the child's process group (it leads its own), then reap it.
async fn kill(child: &mut Child) {
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours;
        // the group is the one `process_group(0)` created for this child,
        // which is not yet reaped, so its id cannot have been reused.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill().await;
}
