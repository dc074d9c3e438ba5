//! Hot reload, the watching half: which source changes matter, batched as an editor's burst of
//! writes settles (debounced on the trailing edge), and which functions they affect.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::Duration,
};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// How long the tree must be quiet before a batch of changes is acted on.
pub const QUIET: Duration = Duration::from_millis(50);

/// Why watching could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The kernel's inotify watch budget is spent.
    #[error(
        "cannot watch {path}: too many inotify watches. Raise the limit, e.g. \
         `sudo sysctl fs.inotify.max_user_watches=524288`, or run with --no-reload"
    )]
    TooManyWatches {
        /// The directory that could not be watched.
        path: PathBuf,
    },
    /// Any other watcher failure.
    #[error("cannot watch {path}: {source} (run with --no-reload to serve without hot reload)")]
    Watch {
        /// The directory that could not be watched.
        path: PathBuf,
        /// What notify reported.
        source: notify::Error,
    },
}

/// A function and the source directories it is built from (its package and path dependencies).
#[derive(Debug, Clone)]
pub struct Watched {
    /// The function's name.
    pub function: String,
    /// Directories whose changes rebuild it.
    pub roots: Vec<PathBuf>,
}

/// Decides which changed paths matter: under a watched root, not in a target dir or `.git`,
/// not ignored by the `.gitignore` files between the repository root and the path.
#[derive(Debug)]
pub struct PathFilter {
    ignores: Vec<Gitignore>,
    target_dir: PathBuf,
}

impl PathFilter {
    /// A filter for `roots`, ignoring everything under `target_dir`.
    pub fn new(roots: &[PathBuf], target_dir: &Path) -> PathFilter {
        let mut ignores = Vec::new();
        for root in roots {
            // The `.gitignore` files of the root and of every ancestor up to the repository.
            let mut dir = Some(root.as_path());
            while let Some(current) = dir {
                let file = current.join(".gitignore");
                if file.is_file() {
                    let mut builder = GitignoreBuilder::new(current);
                    if builder.add(&file).is_none() {
                        if let Ok(gitignore) = builder.build() {
                            ignores.push(gitignore);
                        }
                    }
                }
                if current.join(".git").exists() {
                    break;
                }
                dir = current.parent();
            }
        }
        PathFilter {
            ignores,
            target_dir: target_dir.to_path_buf(),
        }
    }

    /// Whether a change to `path` can change a build.
    pub fn relevant(&self, path: &Path) -> bool {
        if path.starts_with(&self.target_dir)
            || path
                .components()
                .any(|c| matches!(c.as_os_str().to_str(), Some(".git" | "target")))
        {
            return false;
        }
        !self.ignores.iter().any(|gitignore| {
            path.starts_with(gitignore.path())
                && gitignore
                    .matched_path_or_any_parents(path, path.is_dir())
                    .is_ignore()
        })
    }
}

/// The functions a batch of changed paths affects.
pub fn affected(batch: &BTreeSet<PathBuf>, watched: &[Watched]) -> BTreeSet<String> {
    watched
        .iter()
        .filter(|w| {
            batch
                .iter()
                .any(|path| w.roots.iter().any(|root| path.starts_with(root)))
        })
        .map(|w| w.function.clone())
        .collect()
}

/// Watches `roots` recursively; changed paths that pass `filter` arrive on the receiver. Keep
/// the returned watcher alive for as long as events are wanted.
pub fn watch(
    roots: &[PathBuf],
    filter: PathFilter,
) -> Result<(RecommendedWatcher, mpsc::UnboundedReceiver<PathBuf>), WatchError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if filter.relevant(&path) {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|source| classify(PathBuf::new(), source))?;
    for root in roots {
        watcher
            .watch(root, RecursiveMode::Recursive)
            .map_err(|source| classify(root.clone(), source))?;
    }
    Ok((watcher, rx))
}

/// Watches single files (configuration files): their directories are watched non-recursively
/// and only changes to `files` arrive on the receiver.
pub fn watch_files(
    files: &[PathBuf],
) -> Result<(RecommendedWatcher, mpsc::UnboundedReceiver<PathBuf>), WatchError> {
    let (tx, rx) = mpsc::unbounded_channel();
    let wanted: BTreeSet<PathBuf> = files.iter().cloned().collect();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            if wanted.contains(&path) {
                let _ = tx.send(path);
            }
        }
    })
    .map_err(|source| classify(PathBuf::new(), source))?;
    let dirs: BTreeSet<&Path> = files.iter().filter_map(|f| f.parent()).collect();
    for dir in dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|source| classify(dir.to_path_buf(), source))?;
    }
    Ok((watcher, rx))
}

fn classify(path: PathBuf, source: notify::Error) -> WatchError {
    let spent = matches!(&source.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&source.kind, notify::ErrorKind::Io(e) if e.raw_os_error() == Some(libc::ENOSPC));
    if spent {
        WatchError::TooManyWatches { path }
    } else {
        WatchError::Watch { path, source }
    }
}

/// Waits for the next change, then gathers changes until the tree has been quiet for `quiet`.
/// `None` when the watcher is gone.
pub async fn next_batch(
    changes: &mut mpsc::UnboundedReceiver<PathBuf>,
    quiet: Duration,
) -> Option<BTreeSet<PathBuf>> {
    let mut batch = BTreeSet::from([changes.recv().await?]);
    loop {
        match tokio::time::timeout(quiet, changes.recv()).await {
            Ok(Some(path)) => {
                batch.insert(path);
            }
            Ok(None) | Err(_) => return Some(batch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_tree() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "lambkin-reload-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("fn/src")).unwrap();
        std::fs::create_dir(dir.join(".git")).unwrap();
        std::fs::write(dir.join(".gitignore"), "*.log\n/generated/\n").unwrap();
        dir
    }

    #[test]
    fn sources_matter_and_build_output_does_not() {
        let root = temp_tree();
        let filter = PathFilter::new(&[root.join("fn")], &root.join("target"));
        assert!(filter.relevant(&root.join("fn/src/main.rs")));
        assert!(filter.relevant(&root.join("fn/Cargo.toml")));
        assert!(!filter.relevant(&root.join("target/debug/fn")));
        assert!(!filter.relevant(&root.join("fn/target/debug/fn")));
        assert!(!filter.relevant(&root.join("fn/.git/index")));
        assert!(
            !filter.relevant(&root.join("fn/src/debug.log")),
            "ignored by the repository's .gitignore"
        );
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_spent_inotify_budget_says_how_to_raise_it() {
        let spent = notify::Error::new(notify::ErrorKind::MaxFilesWatch);
        let message = classify("/src".into(), spent).to_string();
        assert!(
            message.contains("fs.inotify.max_user_watches") && message.contains("--no-reload"),
            "{message}"
        );
        let enospc = notify::Error::io(std::io::Error::from_raw_os_error(libc::ENOSPC));
        assert!(matches!(
            classify("/src".into(), enospc),
            WatchError::TooManyWatches { .. }
        ));
        let other = notify::Error::path_not_found();
        assert!(matches!(
            classify("/src".into(), other),
            WatchError::Watch { .. }
        ));
    }

    #[test]
    fn changes_map_to_the_functions_built_from_them() {
        let watched = [
            Watched {
                function: "a".into(),
                roots: vec!["/w/a".into(), "/w/shared".into()],
            },
            Watched {
                function: "b".into(),
                roots: vec!["/w/b".into()],
            },
        ];
        let batch = BTreeSet::from([PathBuf::from("/w/shared/src/lib.rs")]);
        assert_eq!(affected(&batch, &watched), BTreeSet::from(["a".to_owned()]));
        let batch = BTreeSet::from([
            PathBuf::from("/w/b/src/main.rs"),
            PathBuf::from("/w/a/Cargo.toml"),
        ]);
        assert_eq!(affected(&batch, &watched).len(), 2);
        assert!(affected(&BTreeSet::from([PathBuf::from("/w/c/x.rs")]), &watched).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_writes_is_one_batch() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(async move {
            for i in 0..5 {
                tx.send(PathBuf::from(format!("/src/{i}.rs"))).unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            tx.send(PathBuf::from("/src/later.rs")).unwrap();
        });
        assert_eq!(next_batch(&mut rx, QUIET).await.unwrap().len(), 5);
        assert_eq!(
            next_batch(&mut rx, QUIET).await.unwrap(),
            BTreeSet::from([PathBuf::from("/src/later.rs")])
        );
        writer.await.unwrap();
        assert!(next_batch(&mut rx, QUIET).await.is_none());
    }

    #[tokio::test]
    async fn real_file_writes_arrive_filtered() {
        let root = temp_tree();
        let roots = [root.join("fn")];
        let (_watcher, mut rx) =
            watch(&roots, PathFilter::new(&roots, &root.join("target"))).unwrap();
        std::fs::write(root.join("fn/src/debug.log"), "ignored").unwrap();
        std::fs::write(root.join("fn/src/main.rs"), "fn main() {}").unwrap();
        let batch = tokio::time::timeout(Duration::from_secs(5), next_batch(&mut rx, QUIET))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(batch, BTreeSet::from([root.join("fn/src/main.rs")]));
        let _ = std::fs::remove_dir_all(root);
    }
}
