//! An instance's memory, as Lambda polices it: sampled while an invocation runs, killed past the
//! function's memory size, and REPORT's Max Memory Used.
//!
//! **Memory is the group's**: every member's `/proc/<pid>/status`, anonymous memory summed and
//! file-backed pages (executables, libraries: mostly shared) counted once, the largest, so a
//! forking runtime is not charged its libraries once per process. Membership comes from the
//! process group in `/proc/*/stat` (see [`process`](super::process)). Measured on the development
//! VM (94 processes): reading every `/proc/*/stat` costs 0.4–0.7 ms, listing `/proc` 50 µs, one
//! `status` 7 µs. Samples run every 20 ms while busy, so each process is classified once (a
//! process enters a group only at fork) and the list of processes, one for every instance, is
//! refreshed at most every 200 ms; a sample then costs one `status` read per member.
//! (`/proc/<pid>/task/*/children` would be cheaper but is missing on kernels without
//! `CONFIG_PROC_CHILDREN`, and loses orphans of a parent that exited.)

use std::time::{Duration, Instant};

use super::process::read_proc;
use super::{Instance, Mode};

/// A memory sample this recent is reused for REPORT's Max Memory Used: the kernel formats all
/// of `/proc/<pid>/status` for each read, which costs more than the rest of a short invocation.
/// The peak only grows, so a later REPORT catches up.
const MEMORY_REUSE: Duration = Duration::from_millis(50);

impl Instance {
    /// Memory of the instance's processes, from `/proc` (Linux only).
    pub(super) fn sample_memory(&self) -> Option<Memory> {
        let memory = match &self.mode {
            // Lambda's memory is the runtime's and the extensions' together.
            Mode::Child(process) => {
                let members: Vec<u32> = process
                    .groups()
                    .iter_mut()
                    .flat_map(|group| group.members())
                    .collect();
                of_processes(members.into_iter())
            }
            Mode::InProcess => Memory::of_self(),
        };
        if let Some(memory) = memory {
            self.state().memory_sample = Some((Instant::now(), memory));
        }
        memory
    }

    /// A sample at most [`MEMORY_REUSE`] old, else a new one, else (the process is gone) the
    /// last one.
    pub(super) fn recent_memory(&self) -> Option<Memory> {
        let last = self.state().memory_sample;
        match last {
            Some((at, memory)) if at.elapsed() < MEMORY_REUSE => Some(memory),
            last => self.sample_memory().or(last.map(|(_, memory)| memory)),
        }
    }
}

/// The memory of processes `pids` together, `None` if none is left.
pub(super) fn of_processes(pids: impl Iterator<Item = u32>) -> Option<Memory> {
    Memory::sum(pids.filter_map(Usage::of_process))
}

/// The memory of an instance's processes, in kB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Memory {
    /// Resident now.
    pub(super) resident_kb: u64,
    /// The most resident so far, as far as the kernel's per-process peaks and this sample tell.
    pub(super) peak_kb: u64,
}

impl Memory {
    /// The memory of the current process (local mode).
    fn of_self() -> Option<Memory> {
        Memory::sum(Usage::read("/proc/self/status"))
    }

    /// Anonymous memory summed, file-backed pages counted once (the largest): see the module doc.
    /// For one process this is its `VmRSS` and `VmHWM`. `None` for no process.
    fn sum(usages: impl IntoIterator<Item = Usage>) -> Option<Memory> {
        let mut usages = usages.into_iter().peekable();
        usages.peek()?;
        let (mut own, mut file, mut peak) = (0, 0, 0);
        for usage in usages {
            own += usage.own_kb;
            file = file.max(usage.file_kb);
            peak = peak.max(usage.peak_kb);
        }
        let resident_kb = own + file;
        Some(Memory {
            resident_kb,
            peak_kb: peak.max(resident_kb),
        })
    }
}

/// One process's memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Usage {
    /// Anonymous and shared-memory pages (`VmRSS` − `RssFile`).
    own_kb: u64,
    /// File-backed pages (`RssFile`).
    file_kb: u64,
    /// `VmHWM`.
    peak_kb: u64,
}

impl Usage {
    fn of_process(pid: u32) -> Option<Usage> {
        Usage::read(&format!("/proc/{pid}/status"))
    }

    fn read(path: &str) -> Option<Usage> {
        // `status` is about 1.5 kB.
        let status = read_proc(path, 4096)?;
        Usage::parse(std::str::from_utf8(&status).ok()?)
    }

    /// `None` for a zombie (no memory fields) or a malformed file.
    fn parse(status: &str) -> Option<Usage> {
        let field = |name: &str| -> Option<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        };
        let resident = field("VmRSS:")?;
        // Kernels before 4.5 do not split VmRSS: all of it counts as the process's own.
        let file = field("RssFile:").unwrap_or(0).min(resident);
        Some(Usage {
            own_kb: resident - file,
            file_kb: file,
            peak_kb: field("VmHWM:")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let status = "Name:\tx\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nRssAnon:\t    8000 kB\nRssFile:\t    2000 kB\nRssShmem:\t     240 kB\n";
        let usage = Usage::parse(status).unwrap();
        assert_eq!(
            usage,
            Usage {
                own_kb: 8240,
                file_kb: 2000,
                peak_kb: 20480
            }
        );
        // One process: its own VmRSS and VmHWM.
        let memory = Memory::sum([usage]).unwrap();
        assert_eq!((memory.resident_kb, memory.peak_kb), (10240, 20480));
        // A zombie has no memory fields.
        assert!(Usage::parse("Name:\tx\nState:\tZ (zombie)\n").is_none());
        assert!(Memory::sum([]).is_none());
    }

    #[test]
    fn sums_a_group() {
        let usage = |own_kb, file_kb, peak_kb| Usage {
            own_kb,
            file_kb,
            peak_kb,
        };
        // Two processes sharing the same libraries: their own memory adds up, the files once.
        let memory = Memory::sum([usage(1000, 3000, 4500), usage(50_000, 2000, 52_000)]).unwrap();
        assert_eq!(memory.resident_kb, 54_000);
        assert_eq!(memory.peak_kb, 54_000);
        // One process's own peak can exceed the group's present.
        let memory = Memory::sum([usage(1000, 1000, 90_000), usage(1000, 1000, 2000)]).unwrap();
        assert_eq!((memory.resident_kb, memory.peak_kb), (3000, 90_000));
    }
}
