//! The functions the front serves, by name. A project's functions are known at start; the
//! management API adds, replaces and removes functions (and their published versions) while the
//! emulator runs.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use tokio::sync::watch;

use crate::VERSION_LATEST;
use crate::concurrency::Concurrency;
use crate::config::FunctionConfig;
use crate::pool::{Function, Pool};
use crate::recorder::Recorder;
use crate::sync::{read, write};

/// Functions by [`FunctionKey`].
#[derive(Debug)]
pub(crate) struct Registry {
    functions: RwLock<HashMap<FunctionKey, Arc<Function>>>,
    /// Set when the emulator shuts down; every pool watches it.
    closing: watch::Receiver<bool>,
    /// Concurrency limits and counts, by function name (all versions together).
    concurrency: Arc<Concurrency>,
    /// Where every function's invocations are recorded.
    recorder: Arc<Recorder>,
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

/// A function at one of its versions: the key of the registry and of the asynchronous queues.
/// Built only through [`FunctionKey::new`], so `$LATEST` has one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FunctionKey {
    /// The function's bare name.
    name: String,
    /// `None` for `$LATEST`, else a published version's number as it was given.
    qualifier: Option<String>,
}

impl FunctionKey {
    /// `name` at `qualifier` (`None` and `$LATEST` are the same function).
    pub(crate) fn new(name: &str, qualifier: Option<&str>) -> FunctionKey {
        let qualifier = qualifier.filter(|q| *q != VERSION_LATEST);
        FunctionKey {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
        }
    }

    /// The `$LATEST` of `name`.
    pub(crate) fn latest(name: &str) -> FunctionKey {
        FunctionKey::new(name, None)
    }

    /// The key a name in any of the forms of [`split_name`] refers to.
    pub(crate) fn parse(name: &str) -> FunctionKey {
        let (name, qualifier) = split_name(name);
        FunctionKey::new(name, qualifier)
    }

    /// The function's bare name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The version: `$LATEST` or a published version's number.
    pub(crate) fn version(&self) -> &str {
        self.qualifier.as_deref().unwrap_or(VERSION_LATEST)
    }

    /// Whether this is the function's `$LATEST` (the function itself, not a published version).
    pub(crate) fn is_latest(&self) -> bool {
        self.qualifier.is_none()
    }
}

/// `name` for `$LATEST`, `name:N` for version N (names cannot hold `:`, so this reads back with
/// [`FunctionKey::parse`]); the form event files keep.
impl fmt::Display for FunctionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.qualifier {
            None => f.write_str(&self.name),
            Some(version) => write!(f, "{}:{version}", self.name),
        }
    }
}

impl Registry {
    /// A registry of `functions`, recording invocations (its own and those of the functions it
    /// adds) in `recorder`.
    pub(crate) fn new(
        functions: HashMap<FunctionKey, Arc<Function>>,
        closing: watch::Receiver<bool>,
        recorder: Arc<Recorder>,
    ) -> Registry {
        Registry {
            functions: RwLock::new(functions),
            closing,
            concurrency: Arc::default(),
            recorder,
        }
    }

    /// Where invocations are recorded.
    pub(crate) fn recorder(&self) -> &Arc<Recorder> {
        &self.recorder
    }

    /// Every function served, with its key.
    pub(crate) fn all(&self) -> Vec<(FunctionKey, Arc<Function>)> {
        let mut all: Vec<_> = read(&self.functions)
            .iter()
            .map(|(key, function)| (key.clone(), function.clone()))
            .collect();
        all.sort_by_key(|(key, _)| key.to_string());
        all
    }

    /// The functions' concurrency limits and counts.
    pub(crate) fn concurrency(&self) -> &Arc<Concurrency> {
        &self.concurrency
    }

    /// Set when the emulator shuts down.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.clone()
    }

    /// The function at `key`.
    pub(crate) fn get(&self, key: &FunctionKey) -> Option<Arc<Function>> {
        read(&self.functions).get(key).cloned()
    }

    /// The names of the functions served, sorted (published versions are not listed).
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = read(&self.functions)
            .keys()
            .filter(|key| key.is_latest())
            .map(|key| key.name.clone())
            .collect();
        names.sort();
        names
    }

    /// Serves `config` under `key` with a pool of child-process instances; `false` (and nothing
    /// changes) when the key is taken. A new function (its `$LATEST`) starts with the
    /// configuration's reserved concurrency; its versions share the function's.
    pub(crate) fn add(&self, key: FunctionKey, config: FunctionConfig) -> bool {
        let mut functions = write(&self.functions);
        if functions.contains_key(&key) {
            return false;
        }
        if key.is_latest() && key.name == config.name {
            self.concurrency
                .set_reserved(&config.name, config.reserved_concurrency);
        }
        let pool = Arc::new(Pool::new(
            config,
            self.closing.clone(),
            self.concurrency.clone(),
            self.recorder.clone(),
        ));
        functions.insert(key, Arc::new(Function::Pool(pool)));
        true
    }

    /// Stops serving `key`: new invocations no longer find it, idle instances stop, busy ones
    /// finish their invocation and then stop. Removing a function's `$LATEST` (deleting the
    /// function) removes its reserved concurrency.
    #[cfg(feature = "manage")]
    pub(crate) fn remove(&self, key: &FunctionKey) -> bool {
        let removed = write(&self.functions).remove(key);
        if key.is_latest() {
            self.concurrency.forget(&key.name);
        }
        if let Some(Function::Pool(pool)) = removed.as_deref() {
            pool.retire();
        }
        removed.is_some()
    }

    /// Every pool of child-process instances.
    pub(crate) fn pools(&self) -> Vec<Arc<Pool>> {
        read(&self.functions)
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
    fn keys_read_back_from_their_text() {
        let latest = FunctionKey::new("hello", Some("$LATEST"));
        assert_eq!(latest, FunctionKey::latest("hello"));
        assert!(latest.is_latest());
        assert_eq!(latest.to_string(), "hello");
        let version = FunctionKey::new("hello", Some("3"));
        assert!(!version.is_latest());
        assert_eq!(version.to_string(), "hello:3");
        assert_eq!(FunctionKey::parse(&version.to_string()), version);
        assert_eq!(FunctionKey::parse(&latest.to_string()), latest);
    }

    #[test]
    fn versions_are_keyed_apart_from_latest() {
        let (_closing, closing_rx) = watch::channel(false);
        let registry = Registry::new(HashMap::new(), closing_rx, Arc::default());
        let key = FunctionKey::new;
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
        assert!(registry.get(&key("hello", Some("1"))).is_some());
        assert!(registry.get(&key("hello", Some("2"))).is_none());
        assert_eq!(registry.pools().len(), 2);
        #[cfg(feature = "manage")]
        {
            assert!(registry.remove(&key("hello", Some("1"))));
            assert!(!registry.remove(&key("hello", Some("1"))));
        }
        assert!(registry.get(&key("hello", Some("$LATEST"))).is_some());
    }
}
