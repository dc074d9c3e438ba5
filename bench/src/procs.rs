//! Processes as `/proc` shows them (Linux): CPU time, parents, descendants.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;

/// On-CPU time of every thread of `pid` (`/proc/<pid>/task/*/schedstat`, nanoseconds).
pub(crate) fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let mut total = 0u64;
    let tasks =
        std::fs::read_dir(format!("/proc/{pid}/task")).with_context(|| format!("process {pid}"))?;
    for task in tasks {
        // A thread that ended meanwhile has no file left: it counts nothing.
        let Ok(stat) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue;
        };
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(Duration::from_nanos(total))
}

/// A process: its id, its parent's, and its command name (at most 15 bytes, as the kernel
/// keeps it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Process {
    pub(crate) pid: u32,
    pub(crate) ppid: u32,
    pub(crate) name: String,
}

impl Process {
    /// Reads `/proc/<pid>/stat`'s `pid (comm) state ppid …`; `comm` may hold spaces and
    /// parentheses, so the fields resume after the last `)`.
    fn parse(stat: &str) -> Option<Process> {
        let (head, tail) = stat.rsplit_once(')')?;
        let (pid, name) = head.split_once(" (")?;
        Some(Process {
            pid: pid.trim().parse().ok()?,
            ppid: tail.split_whitespace().nth(1)?.parse().ok()?,
            name: name.to_owned(),
        })
    }
}

/// Every process now (one that ends while the list is read is left out).
pub(crate) fn processes() -> anyhow::Result<Vec<Process>> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Ok(pid) = entry?.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Some(process) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .as_deref()
            .and_then(Process::parse)
        {
            all.push(process);
        }
    }
    Ok(all)
}

/// The processes below `pid` now: its children, theirs, and so on.
pub(crate) fn descendants(pid: u32) -> anyhow::Result<Vec<u32>> {
    let all = processes()?;
    let mut found = vec![pid];
    let mut next = 0;
    while let Some(&parent) = found.get(next) {
        found.extend(all.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
        next += 1;
    }
    found.remove(0);
    Ok(found)
}

/// The CPU time of each process below `pid`, so far.
pub(crate) fn descendants_cpu(pid: u32) -> anyhow::Result<HashMap<u32, Duration>> {
    Ok(descendants(pid)?
        .into_iter()
        .filter_map(|child| Some((child, cpu_time(child).ok()?)))
        .collect())
}

/// CPU time spent between two readings of [`descendants_cpu`]: by the processes alive at the
/// second, those started in between counted whole (one that ended in between is lost: the
/// tables measure steady load, where instances live on).
pub(crate) fn spent_between(
    before: &HashMap<u32, Duration>,
    after: &HashMap<u32, Duration>,
) -> Duration {
    after
        .iter()
        .map(|(pid, now)| now.saturating_sub(before.get(pid).copied().unwrap_or_default()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat() {
        let process = Process::parse("4242 (a (weird) name) S 17 4240 4240 0 -1").unwrap();
        assert_eq!(
            process,
            Process {
                pid: 4242,
                ppid: 17,
                name: "a (weird) name".to_owned()
            }
        );
        assert_eq!(Process::parse("garbage"), None);
    }

    #[test]
    fn finds_a_childs_cpu_time() {
        // This process has run for a while: some CPU time, and not absurdly much.
        let spent = cpu_time(std::process::id()).unwrap();
        assert!(spent < Duration::from_secs(3600), "{spent:?}");

        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 30",
            ])
            .spawn()
            .unwrap();
        let me = std::process::id();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        // The loop takes some CPU before the sleep: the child's time grows past zero.
        let spent = loop {
            let spent = spent_between(&HashMap::new(), &descendants_cpu(me).unwrap());
            if spent > Duration::from_millis(1) || std::time::Instant::now() > deadline {
                break spent;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(descendants(me).unwrap().contains(&child.id()));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(spent > Duration::from_millis(1), "{spent:?}");
        assert!(!descendants(me).unwrap().contains(&child.id()));
    }
}
