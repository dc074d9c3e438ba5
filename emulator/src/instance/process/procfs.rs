//! Which processes belong to a group, from `/proc/*/stat` (none where there is no `/proc`).

use std::time::{Duration, Instant};

/// How long a group's list of members is trusted before `/proc` is listed again.
const MEMBERS_TTL: Duration = Duration::from_millis(200);

/// Every process id in `/proc` (none where there is no `/proc`).
pub(super) fn processes() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

/// A process's state letter and process group, from `/proc/<pid>/stat`.
fn stat(pid: u32) -> Option<(u8, u32)> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &[u8]) -> Option<(u8, u32)> {
    // The command (field 2) may hold spaces and parentheses: the fields resume after the last ')'.
    let rest = text.get(text.iter().rposition(|&b| b == b')')? + 2..)?;
    let mut fields = rest.split(|&b| b == b' ');
    let state = *fields.next()?.first()?;
    let _parent = fields.next()?;
    let pgrp = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    Some((state, pgrp))
}

/// Whether `pid` is a live (not zombie) member of group `pgid`.
pub(super) fn running_in(pid: u32, pgid: u32) -> bool {
    stat(pid).is_some_and(|(state, pgrp)| pgrp == pgid && !matches!(state, b'Z' | b'X'))
}

/// Which processes of the system belong to a group, refreshed at most every [`MEMBERS_TTL`].
#[derive(Debug, Default)]
pub(super) struct Members {
    /// Every process seen at the last refresh, and whether it is in the group. A process enters a
    /// group at fork (or, within its session, by `setpgid`, which functions do not do), so each
    /// is classified once.
    seen: std::collections::HashMap<u32, bool>,
    refreshed: Option<Instant>,
}

impl Members {
    /// The group `pgid`'s members, from the list refreshed at most every [`MEMBERS_TTL`].
    pub(super) fn current(&mut self, pgid: u32) -> impl Iterator<Item = u32> + '_ {
        if self.refreshed.is_none_or(|at| at.elapsed() >= MEMBERS_TTL) {
            let known = std::mem::take(&mut self.seen);
            self.seen = processes()
                .map(|pid| {
                    let member = known
                        .get(&pid)
                        .copied()
                        .unwrap_or_else(|| running_in(pid, pgid));
                    (pid, member)
                })
                .collect();
            self.refreshed = Some(Instant::now());
        }
        self.seen
            .iter()
            .filter(|(_, member)| **member)
            .map(|(pid, _)| *pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat() {
        let stat = b"4242 (a (weird) name) S 1 4240 4240 0 -1 4194560 100 0";
        assert_eq!(parse_stat(stat), Some((b'S', 4240)));
        assert_eq!(
            parse_stat(b"4242 (zombie) Z 1 4242 4242"),
            Some((b'Z', 4242))
        );
        assert_eq!(parse_stat(b"garbage"), None);
    }
}
