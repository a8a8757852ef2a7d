//! The machine's processes, read from `/proc`: the instances a test's
//! control plane started, found by a marker in their command line.

/// Pids of the live (not zombie) processes whose command line holds
/// `marker`, sorted; `sh -c` wrappers are left out.
pub fn pids_with(marker: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let zombie = stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'));
        let cmd = String::from_utf8_lossy(&cmd);
        if !zombie && cmd.contains(marker) && !cmd.starts_with("sh\0") {
            pids.push(pid);
        }
    }
    pids.sort();
    pids
}

/// A process's command line, arguments joined by spaces.
pub fn cmdline(pid: i32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()).replace('\0', " ")
}
