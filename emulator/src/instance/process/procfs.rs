//! Which processes belong to a group, from `/proc/*/stat` (none where there is no `/proc`).

use std::collections::HashMap;
use std::io::Read;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use crate::sync::lock;

/// How long the table of processes is trusted before `/proc` is listed again.
const MEMBERS_TTL: Duration = Duration::from_millis(200);

/// Every process id in `/proc` (none where there is no `/proc`).
pub(super) fn processes() -> impl Iterator<Item = u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
}

/// A `/proc` file's bytes (`capacity`: what it usually holds), `None` if it cannot be read.
///
/// Read in plain `read`s: `File::read_to_string` asks the file's size first (`statx` and
/// `lseek`), which `/proc` files do not report, two system calls wasted on every sample.
pub(crate) fn read_proc(path: &str, capacity: usize) -> Option<Vec<u8>> {
    let mut text = Vec::with_capacity(capacity);
    let file = std::fs::File::open(path).ok()?;
    // `Take` hides the file from `read_to_end`'s size query.
    file.take(u64::MAX).read_to_end(&mut text).ok()?;
    Some(text)
}

/// A live (not zombie) process's group, from `/proc/<pid>/stat`.
fn group_of(pid: u32) -> Option<u32> {
    let (state, pgrp) = parse_stat(&read_proc(&format!("/proc/{pid}/stat"), 512)?)?;
    (!matches!(state, b'Z' | b'X')).then_some(pgrp)
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
    group_of(pid) == Some(pgid)
}

/// The group of every process on the system, shared by all instances: one listing of `/proc`
/// every [`MEMBERS_TTL`] at most, whatever the number of instances. (One table per instance
/// listed `/proc` once per instance; with 64 busy instances that listing, and reading the `stat`
/// of every new process once per instance, was a tenth of the emulator's CPU under load.)
static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(Mutex::default);

#[derive(Debug, Default)]
struct Table {
    /// Every process seen at the last refresh and its group (`None`: a zombie, or gone before
    /// its `stat` was read). A process enters a group at fork (or, within its session, by
    /// `setpgid`, which functions do not do), so each is classified once.
    groups: HashMap<u32, Option<u32>>,
    refreshed: Option<Instant>,
}

/// The live processes of group `pgid` (its leader, whose pid is `pgid`, always listed: the
/// caller learns it is gone when its files are), from the table refreshed at most every
/// [`MEMBERS_TTL`].
pub(super) fn members(pgid: u32) -> Vec<u32> {
    let mut table = lock(&TABLE);
    if table.refreshed.is_none_or(|at| at.elapsed() >= MEMBERS_TTL) {
        let known = std::mem::take(&mut table.groups);
        table.groups = processes()
            .map(|pid| {
                let group = known.get(&pid).copied().unwrap_or_else(|| group_of(pid));
                (pid, group)
            })
            .collect();
        table.refreshed = Some(Instant::now());
    }
    // The leader is listed whatever the table says: an instance started since the last
    // refresh is not in it, and one listed between its fork and its `setpgid` is filed under
    // the emulator's group.
    let others = table
        .groups
        .iter()
        .filter(|&(&pid, &group)| pid != pgid && group == Some(pgid))
        .map(|(&pid, _)| pid);
    std::iter::once(pgid).chain(others).collect()
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

    #[cfg(target_os = "linux")]
    #[test]
    fn the_shared_table_finds_a_groups_members() {
        use std::os::unix::process::CommandExt as _;
        use std::process::Command;

        let (_, own_group) = parse_stat(&std::fs::read("/proc/self/stat").unwrap()).unwrap();
        // One child in this process's group, one leading a group of its own.
        let mut inside = Command::new("sleep").arg("30").spawn().unwrap();
        let mut apart = Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        // Found at the table's next refresh, at most MEMBERS_TTL away.
        let deadline = Instant::now() + Duration::from_secs(10);
        let found = loop {
            let found = members(own_group);
            if found.contains(&inside.id()) || Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        for child in [&mut inside, &mut apart] {
            child.kill().unwrap();
            child.wait().unwrap();
        }
        assert!(found.contains(&inside.id()), "{found:?}");
        assert!(found.contains(&std::process::id()), "{found:?}");
        assert!(!found.contains(&apart.id()), "{found:?}");
        // A group's leader is listed whatever the table holds: the caller reads its files.
        assert_eq!(members(apart.id()).first(), Some(&apart.id()));
    }
}
