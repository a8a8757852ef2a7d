//! The host's table of local processes behind the `process` capability.
//!
//! Processes belong to the host, not to the plugin instance (which lives for
//! one call): the table outlives calls and plugins find their processes again
//! by label. Each process leads its own process group so stopping it stops
//! whatever it forked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::process::{Child, Command};

use crate::runtime::bindings::platform::hoist::plugin::process::{
    ProcessError, ProcessInfo, ProcessState, SpawnRequest,
};

/// Most processes one table tracks.
const MAX_PROCESSES: usize = 1024;
/// Most bytes of program, arguments, environment and labels in one spawn.
const MAX_SPAWN_BYTES: usize = 64 * 1024;
/// Longest stop grace a plugin may ask for.
const MAX_GRACE: Duration = Duration::from_secs(60);

struct Tracked {
    info: ProcessInfo,
    child: Option<Child>,
    /// Found running after a host restart: no `Child` handle, only the pid.
    adopted: bool,
}

/// What survives a host restart of one process.
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    id: String,
    pid: u32,
    labels: Vec<(String, String)>,
    port: Option<u16>,
    started_at_ms: u64,
    /// The kernel's start time of the pid, so a reused pid is not adopted.
    boot_ticks: Option<u64>,
}

/// The host's table of processes spawned for plugins.
#[derive(Clone, Default)]
pub struct ProcessTable {
    inner: Arc<Mutex<BTreeMap<String, Tracked>>>,
    logs: Option<std::path::PathBuf>,
    /// Where the table is saved so a restarted host adopts its processes.
    saved: Option<std::path::PathBuf>,
    /// The token id its children carry (durable tables only).
    token: Option<String>,
    /// Who hears of an exit at once (`exits.rs`).
    exits: super::exits::Exits,
}

impl ProcessTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// A durable table in `state`: processes write their output under
    /// `state/logs/`, the table is saved to `state/processes.json`, and the
    /// processes a previous host left running are adopted (not duplicated,
    /// not orphaned).
    ///
    /// A table file that exists but cannot be read is an error: treating it
    /// as empty would start duplicates of what is running.
    pub fn durable(state: &std::path::Path) -> Result<Self, String> {
        let table = Self {
            logs: Some(state.join("logs")),
            saved: Some(state.join("processes.json")),
            token: Some(super::token::table_id(state)),
            ..Self::default()
        };
        table.adopt()?;
        Ok(table)
    }

    fn adopt(&self) -> Result<(), String> {
        let Some(path) = &self.saved else { return Ok(()) };
        let text = match hoist_files::read_text(path, hoist_files::TEXT_CAP) {
            Ok(text) => text,
            // No table yet; children it never saved may still exist.
            Err(err) if err.is_not_found() => "[]".to_string(),
            Err(err) => return Err(format!("{err}; move it aside only if no process it lists is still running")),
        };
        let saved: Vec<Saved> = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: the process table cannot be read ({e}); restore it from a backup, or stop the processes it \
                 listed and move it aside",
                path.display()
            )
        })?;
        let mut table = self.lock();
        for s in saved {
            if !alive(s.pid) || boot_ticks(s.pid) != s.boot_ticks {
                continue;
            }
            tracing::info!(pid = s.pid, id = %s.id, "adopted process left running by a previous host");
            let info = ProcessInfo {
                id: s.id.clone(),
                pid: s.pid,
                labels: s.labels,
                port: s.port,
                state: ProcessState::Running,
                started_at_ms: s.started_at_ms,
            };
            table.insert(s.id, Tracked { info, child: None, adopted: true });
        }
        // Children spawned after the last save (the host killed in between)
        // are found by the token in their environment.
        if let Some(id) = &self.token {
            let known: std::collections::BTreeSet<u32> = table.values().map(|t| t.info.pid).collect();
            for (pid, token) in super::token::scan(id) {
                if known.contains(&pid) {
                    continue;
                }
                tracing::warn!(pid, "adopted a process the previous host spawned but had not saved");
                let id = format!("{pid}-{}", token.started_at_ms);
                let info = ProcessInfo {
                    id: id.clone(),
                    pid,
                    labels: token.labels,
                    port: token.port,
                    state: ProcessState::Running,
                    started_at_ms: token.started_at_ms,
                };
                table.insert(id, Tracked { info, child: None, adopted: true });
            }
        }
        drop(table);
        self.save();
        Ok(())
    }

    fn save(&self) {
        let Some(path) = &self.saved else { return };
        let saved: Vec<Saved> = self
            .lock()
            .values()
            .map(|t| Saved {
                id: t.info.id.clone(),
                pid: t.info.pid,
                labels: t.info.labels.clone(),
                port: t.info.port,
                started_at_ms: t.info.started_at_ms,
                boot_ticks: boot_ticks(t.info.pid),
            })
            .collect();
        let tmp = path.with_extension("json.tmp");
        let written = serde_json::to_vec(&saved)
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(err) = written {
            tracing::warn!(path = %path.display(), "cannot save the process table: {err}");
        }
    }

    /// Keeps every instance log under `cap` bytes: a log past it has its
    /// last `cap` bytes copied to `NAME.log.1` and is truncated in place.
    /// Instances write with `O_APPEND`, so they go on at the new end; the
    /// lines written between copy and truncation are the only ones lost.
    pub fn rotate_logs(&self, cap: u64) {
        use std::io::{Read as _, Seek as _};
        let Some(dir) = &self.logs else { return };
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_log = path.extension().is_some_and(|e| e == "log");
            let Ok(meta) = entry.metadata() else { continue };
            if !is_log || !meta.is_file() || meta.len() <= cap {
                continue;
            }
            let rotated = path.with_extension("log.1");
            let copied = std::fs::File::open(&path).and_then(|mut file| {
                file.seek(std::io::SeekFrom::Start(meta.len() - cap))?;
                let mut tail = Vec::with_capacity(cap as usize);
                file.take(cap).read_to_end(&mut tail)?;
                std::fs::write(&rotated, &tail)
            });
            let truncated = copied.and_then(|()| std::fs::OpenOptions::new().write(true).open(&path)?.set_len(0));
            if let Err(err) = truncated {
                tracing::warn!(path = %path.display(), "cannot rotate an instance log: {err}");
            }
        }
    }

    fn log_file(&self, labels: &[(String, String)]) -> std::process::Stdio {
        let Some(dir) = &self.logs else { return std::process::Stdio::null() };
        // Names are validated at every entry; this keeps a file name a file
        // name whatever a plugin labels a process with.
        let label = |k: &str| -> String {
            let value = labels.iter().find(|(key, _)| key == k).map_or("unknown", |(_, v)| v.as_str());
            value.chars().take(63).map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
        };
        let name = format!("{}.{}.{}.log", label("hoist.service"), label("hoist.environment"), label("hoist.revision"));
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        // An instance's output may hold secrets: the operator's alone.
        let _ = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(dir.join(name))
            .map(std::process::Stdio::from)
            .unwrap_or_else(|_| std::process::Stdio::null())
    }

    pub fn spawn(&self, req: SpawnRequest) -> Result<ProcessInfo, ProcessError> {
        let size = req.program.len()
            + req.args.iter().map(String::len).sum::<usize>()
            + req.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + req.labels.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        if size > MAX_SPAWN_BYTES {
            return Err(ProcessError::Limit(format!("spawn request is {size} bytes; the limit is {MAX_SPAWN_BYTES}")));
        }
        let mut table = self.lock();
        if table.len() >= MAX_PROCESSES {
            reap_exited(&mut table);
            if table.len() >= MAX_PROCESSES {
                return Err(ProcessError::Limit(format!("{MAX_PROCESSES} processes are running")));
            }
        }
        let port = if req.assign_port { Some(free_port()?) } else { None };
        let mut cmd = Command::new(&req.program);
        cmd.args(&req.args)
            .env_clear()
            .envs(inherited_env())
            .envs(req.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(std::process::Stdio::null())
            // The host's terminal is not the service's; its output goes to
            // the table's log directory when one is set.
            .stdout(self.log_file(&req.labels))
            .stderr(self.log_file(&req.labels))
            .kill_on_drop(false)
            .process_group(0);
        if let Some(port) = port {
            cmd.env("PORT", port.to_string());
        }
        let started_at_ms = now_ms();
        if let Some(table) = &self.token {
            let token = super::token::Token { table: table.clone(), labels: req.labels.clone(), port, started_at_ms };
            cmd.env(super::token::VAR, serde_json::to_string(&token).unwrap_or_default());
        }
        let child = cmd.spawn().map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                ProcessError::NotFound(format!("cannot run `{}`: {err}", req.program))
            }
            _ => ProcessError::Other(format!("cannot spawn `{}`: {err}", req.program)),
        })?;
        super::token::crash_point();
        let pid = child.id().unwrap_or(0);
        let id = format!("{pid}-{started_at_ms}");
        let info =
            ProcessInfo { id: id.clone(), pid, labels: req.labels, port, state: ProcessState::Running, started_at_ms };
        tracing::info!(pid, program = %req.program, port, "spawned process");
        table.insert(id.clone(), Tracked { info: info.clone(), child: Some(child), adopted: false });
        drop(table);
        self.save();
        self.watch(pid, id, info.labels.clone());
        Ok(info)
    }

    /// Calls `listener` with a process's labels as soon as it exits (not
    /// when the table stops it), from now on and for the processes already
    /// tracked. Call it inside a tokio runtime.
    pub fn on_exit(&self, listener: super::exits::ExitListener) {
        self.exits.listen(listener);
        // `watch` only reads the table once the process has exited.
        let table = self.lock();
        for (id, t) in table.iter().filter(|(_, t)| matches!(t.info.state, ProcessState::Running)) {
            self.watch(t.info.pid, id.clone(), t.info.labels.clone());
        }
    }

    fn watch(&self, pid: u32, id: String, labels: Vec<(String, String)>) {
        let table = self.inner.clone();
        self.exits.watch(pid, labels, move || {
            // Gone from the table, or its child taken by `stop`: expected.
            let table = table.lock().unwrap_or_else(|p| p.into_inner());
            table.get(&id).is_none_or(|t| t.child.is_none() && !t.adopted)
        });
    }

    /// SIGTERM to the process group, SIGKILL after `grace`; then forget it.
    pub async fn stop(&self, id: &str, grace: Duration) -> Result<(), ProcessError> {
        let (pid, child, adopted) = {
            let mut table = self.lock();
            let tracked = table.get_mut(id).ok_or_else(|| ProcessError::NoSuchProcess(id.to_string()))?;
            (tracked.info.pid, tracked.child.take(), tracked.adopted)
        };
        if adopted && alive(pid) {
            signal_group(pid, libc::SIGTERM);
            let deadline = tokio::time::Instant::now() + grace.min(MAX_GRACE);
            while alive(pid) && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            signal_group(pid, libc::SIGKILL);
        }
        if let Some(mut child) = child {
            signal_group(pid, libc::SIGTERM);
            match tokio::time::timeout(grace.min(MAX_GRACE), child.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    signal_group(pid, libc::SIGKILL);
                    let _ = child.wait().await;
                }
            }
            // Whatever the leader left behind in its group goes too.
            signal_group(pid, libc::SIGKILL);
            tracing::info!(pid, "stopped process");
        }
        self.lock().remove(id);
        self.save();
        Ok(())
    }

    /// Processes whose labels include every pair of `selector`.
    pub fn find(&self, selector: &[(String, String)]) -> Vec<ProcessInfo> {
        let mut table = self.lock();
        table
            .values_mut()
            .filter(|t| selector.iter().all(|pair| t.info.labels.contains(pair)))
            .map(|t| {
                refresh(t);
                t.info.clone()
            })
            .collect()
    }

    /// Stops every tracked process (used when the host shuts down a test).
    pub async fn stop_all(&self, grace: Duration) {
        let ids: Vec<String> = self.lock().keys().cloned().collect();
        for id in ids {
            let _ = self.stop(&id, grace).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Tracked>> {
        // A poisoned lock only means another thread panicked mid-update of a
        // map whose entries stay valid; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn refresh(t: &mut Tracked) {
    if t.adopted {
        if !alive(t.info.pid) {
            t.info.state = ProcessState::Other("exited (adopted; status unknown)".into());
        }
        return;
    }
    if let Some(child) = t.child.as_mut()
        && let Ok(Some(status)) = child.try_wait()
    {
        use std::os::unix::process::ExitStatusExt;
        t.info.state = match (status.code(), status.signal()) {
            (Some(code), _) => ProcessState::Exited(code),
            (None, Some(sig)) => ProcessState::Signaled(sig),
            _ => ProcessState::Other(status.to_string()),
        };
    }
}

fn reap_exited(table: &mut BTreeMap<String, Tracked>) {
    for t in table.values_mut() {
        refresh(t);
    }
    table.retain(|_, t| matches!(t.info.state, ProcessState::Running));
}

/// Whether `pid` is a live (not zombie) process.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// Field 22 of /proc/PID/stat: when the process started, in clock ticks
/// since boot — with the pid, a process's identity.
fn boot_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(19)?.parse().ok()
}

fn signal_group(pid: u32, signal: i32) {
    if let Ok(pid) = i32::try_from(pid)
        && pid > 0
    {
        // SAFETY: kill(2) has no memory-safety preconditions; a negative pid
        // addresses the process group the child leads.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

fn free_port() -> Result<u16, ProcessError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|err| ProcessError::Other(format!("no free loopback port: {err}")))
}

/// The few variables a service needs to run at all; everything else comes
/// from the revision's declared environment.
fn inherited_env() -> impl Iterator<Item = (String, String)> {
    ["PATH", "HOME", "LANG", "TZ", "TMPDIR"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process writing as fast as it can into its log, rotated under it:
    /// the log shrinks to the cap and stays dense (it appends at the new
    /// end, no sparse hole), and the rotated copy holds the latest bytes.
    #[test]
    fn instance_logs_are_rotated_under_a_live_writer() {
        let state = tempfile::tempdir().unwrap();
        let table = ProcessTable::durable(state.path()).unwrap();
        let labels = vec![
            ("hoist.service".to_string(), "web".to_string()),
            ("hoist.environment".to_string(), "test".to_string()),
            ("hoist.revision".to_string(), "r1".to_string()),
        ];
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do echo 0123456789abcdef; done"])
            .stdout(table.log_file(&labels))
            .spawn()
            .unwrap();
        let log = state.path().join("logs/web.test.r1.log");
        let cap = 64 * 1024;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0) < 4 * cap {
            assert!(std::time::Instant::now() < deadline, "the writer writes");
            std::thread::sleep(Duration::from_millis(10));
        }
        table.rotate_logs(cap);
        std::thread::sleep(Duration::from_millis(2));
        let _ = child.kill();
        let _ = child.wait();
        let rotated = std::fs::read(state.path().join("logs/web.test.r1.log.1")).unwrap();
        assert_eq!(rotated.len() as u64, cap);
        let meta = std::fs::metadata(&log).unwrap();
        use std::os::unix::fs::MetadataExt as _;
        assert!(meta.len() < 4 * cap, "the live log was truncated: {}", meta.len());
        assert!(
            meta.blocks() * 512 >= meta.len().saturating_sub(8192),
            "no sparse hole: {} bytes in {} blocks",
            meta.len(),
            meta.blocks()
        );
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.lines().skip(1).all(|l| l.is_empty() || l == "0123456789abcdef" || l.ends_with("0123456789abcdef")),
            "only the writer's lines"
        );
    }
}
