//! The functions the front serves, by name. A project's functions are known at start; the
//! management API adds, replaces and removes functions (and their published versions) while the
//! emulator runs.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::watch;

use crate::VERSION_LATEST;
use crate::config::FunctionConfig;
use crate::pool::{Function, Pool};

/// Functions by key: the name for `$LATEST`, `name:N` for published version N (names cannot
/// hold `:`, so the keys never collide).
#[derive(Debug)]
pub(crate) struct Registry {
    functions: RwLock<HashMap<String, Arc<Function>>>,
    /// Set when the emulator shuts down; every pool watches it.
    closing: watch::Receiver<bool>,
}

/// The bare name and qualifier of a name as Lambda's APIs take it: `hello`, `hello:1`,
/// `123456789012:function:hello` or a full ARN, qualified or not.
pub(crate) fn split_name(name: &str) -> (&str, Option<&str>) {
    let bare = name
        .rsplit_once(":function:")
        .map_or(name, |(_, rest)| rest);
    match bare.split_once(':') {
        Some((bare, qualifier)) => (bare, Some(qualifier)),
        None => (bare, None),
    }
}

/// The key of `name` at `qualifier` (`None` and `$LATEST` are the same function).
pub(crate) fn key(name: &str, qualifier: Option<&str>) -> String {
    match qualifier {
        None | Some(VERSION_LATEST) => name.to_owned(),
        Some(version) => format!("{name}:{version}"),
    }
}

impl Registry {
    pub(crate) fn new(
        functions: HashMap<String, Arc<Function>>,
        closing: watch::Receiver<bool>,
    ) -> Registry {
        Registry {
            functions: RwLock::new(functions),
            closing,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Arc<Function>>> {
        self.functions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Arc<Function>>> {
        self.functions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Set when the emulator shuts down.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.clone()
    }

    /// The function `name` at `qualifier`.
    pub(crate) fn get(&self, name: &str, qualifier: Option<&str>) -> Option<Arc<Function>> {
        self.read().get(&key(name, qualifier)).cloned()
    }

    /// The names of the functions served, sorted (published versions are not listed).
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .read()
            .keys()
            .filter(|key| !key.contains(':'))
            .cloned()
            .collect();
        names.sort();
        names
    }

    /// Serves `config` under `key` with a pool of child-process instances; `false` (and nothing
    /// changes) when the key is taken.
    pub(crate) fn add(&self, key: String, config: FunctionConfig) -> bool {
        let mut functions = self.write();
        if functions.contains_key(&key) {
            return false;
        }
        let pool = Arc::new(Pool::new(config, self.closing.clone()));
        functions.insert(key, Arc::new(Function::Pool(pool)));
        true
    }

    /// Stops serving `key`: new invocations no longer find it, idle instances stop, busy ones
    /// finish their invocation and then stop.
    #[cfg(feature = "manage")]
    pub(crate) fn remove(&self, key: &str) -> bool {
        let removed = self.write().remove(key);
        if let Some(Function::Pool(pool)) = removed.as_deref() {
            pool.retire();
        }
        removed.is_some()
    }

    /// Every pool of child-process instances.
    pub(crate) fn pools(&self) -> Vec<Arc<Pool>> {
        self.read()
            .values()
            .filter_map(|function| match &**function {
                Function::Pool(pool) => Some(pool.clone()),
                Function::Local(_) => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_like_lambdas() {
        assert_eq!(split_name("hello"), ("hello", None));
        assert_eq!(split_name("hello:1"), ("hello", Some("1")));
        assert_eq!(
            split_name("arn:aws:lambda:us-east-1:012345678912:function:hello:$LATEST"),
            ("hello", Some("$LATEST"))
        );
        assert_eq!(split_name("012345678912:function:hello"), ("hello", None));
    }

    #[test]
    fn versions_are_keyed_apart_from_latest() {
        let (_closing, closing_rx) = watch::channel(false);
        let registry = Registry::new(HashMap::new(), closing_rx);
        assert!(registry.add(
            key("hello", None),
            FunctionConfig::new("hello", "/bin/true")
        ));
        assert!(registry.add(
            key("hello", Some("1")),
            FunctionConfig::new("hello", "/bin/true")
        ));
        assert!(!registry.add(
            key("hello", Some("$LATEST")),
            FunctionConfig::new("hello", "x")
        ));
        assert_eq!(registry.names(), ["hello"]);
        assert!(registry.get("hello", Some("1")).is_some());
        assert!(registry.get("hello", Some("2")).is_none());
        assert_eq!(registry.pools().len(), 2);
        #[cfg(feature = "manage")]
        {
            assert!(registry.remove("hello:1"));
            assert!(!registry.remove("hello:1"));
        }
        assert!(registry.get("hello", Some("$LATEST")).is_some());
    }
}
