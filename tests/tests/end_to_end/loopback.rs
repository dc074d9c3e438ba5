//! By default nothing listens beyond loopback: neither the front nor any instance's Runtime API.

use std::collections::BTreeSet;

use lambkin_tests::LocalFunction;
use lambkin_tests::project::{Project, Watching, lambkin_binary, target_dir, version};

/// The local addresses of the TCP sockets in LISTEN state owned by `pids`.
fn listening(pids: &[u32]) -> Vec<String> {
    let mut inodes = BTreeSet::new();
    for pid in pids {
        for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(link) = std::fs::read_link(fd.path()) {
                let link = link.to_string_lossy().into_owned();
                if let Some(inode) = link
                    .strip_prefix("socket:[")
                    .and_then(|l| l.strip_suffix(']'))
                {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    let mut addresses = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... inode (10th field)
            if fields.len() > 9 && fields[3] == "0A" && inodes.contains(fields[9]) {
                addresses.push(fields[1].to_owned());
            }
        }
    }
    addresses
}

/// `0100007F:1F90` (IPv4, little-endian hex) or the IPv6 form → is it loopback?
fn is_loopback(address: &str) -> bool {
    let host = address.split(':').next().unwrap_or_default();
    match host.len() {
        8 => host.ends_with("7F"),
        32 => {
            host == "00000000000000000000000001000000" || host == "0000000000000000FFFF00000100007F"
        }
        _ => false,
    }
}

/// `pid` and its children.
fn family(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Ok(children) = std::fs::read_to_string(task.path().join("children")) {
            pids.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    pids
}

#[test]
fn addresses_decode() {
    assert!(is_loopback("0100007F:1F90"));
    assert!(!is_loopback("00000000:1F90"));
    assert!(!is_loopback("00000000000000000000000000000000:1F90"));
    assert!(is_loopback("00000000000000000000000001000000:1F90"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulator_and_its_instances_listen_on_loopback_only() {
    let project = Project::new("loopback");
    let lambkin = Watching::start(&lambkin_binary(), &project, &target_dir()).await;
    // An invocation, so an instance (and its Runtime API listener) exists.
    assert_eq!(version(lambkin.addr).await, Ok(1));
    let pids = family(lambkin.pid());
    assert!(pids.len() >= 2, "the instance is a child process: {pids:?}");
    let addresses = listening(&pids);
    assert!(
        addresses.len() >= 2,
        "the front and a Runtime API listener: {addresses:?}"
    );
    assert!(addresses.iter().all(|a| is_loopback(a)), "{addresses:?}");
}

#[tokio::test]
async fn a_function_serving_itself_listens_on_loopback_only() {
    let function = LocalFunction::start(env!("CARGO_BIN_EXE_echo")).await;
    let addresses = listening(&[function.pid()]);
    assert_eq!(
        addresses.len(),
        2,
        "the front and the Runtime API: {addresses:?}"
    );
    assert!(addresses.iter().all(|a| is_loopback(a)), "{addresses:?}");
}
