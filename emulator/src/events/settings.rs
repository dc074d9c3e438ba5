//! Each function's asynchronous invocation settings at run time: the configuration's
//! ([`FunctionConfig::event_invoke_config`]) until PutFunctionEventInvokeConfig or
//! UpdateFunctionEventInvokeConfig replaces them, or DeleteFunctionEventInvokeConfig removes
//! them (Lambda's defaults apply again). Kept per function and version, as AWS keeps them per
//! qualifier.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::config::{EventInvokeConfig, FunctionConfig};
use crate::registry::FunctionKey;
use crate::sync::lock;

/// Settings the API set (or removed), by function and version.
#[derive(Debug)]
pub(super) struct Settings {
    set: Mutex<HashMap<FunctionKey, Set>>,
    /// When the configuration's settings took effect: their `LastModified`.
    started: SystemTime,
}

/// What the API last did to one function's settings.
#[derive(Debug, Clone)]
struct Set {
    /// `None`: deleted.
    config: Option<EventInvokeConfig>,
    at: SystemTime,
}

/// A function's settings in effect and when they were last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    /// The settings.
    pub(crate) config: EventInvokeConfig,
    /// When they were set (the emulator's start for the configuration's own).
    pub(crate) last_modified: SystemTime,
}

impl Settings {
    pub(super) fn new() -> Settings {
        Settings {
            set: Mutex::new(HashMap::new()),
            started: SystemTime::now(),
        }
    }

    /// The settings of `key`, whose configuration is `config`; `None` when none are set (Lambda's
    /// defaults apply).
    pub(super) fn get(&self, key: &FunctionKey, config: &FunctionConfig) -> Option<Current> {
        match lock(&self.set).get(key) {
            Some(set) => set.config.clone().map(|config| Current {
                config,
                last_modified: set.at,
            }),
            None => config.event_invoke_config.clone().map(|config| Current {
                config,
                last_modified: self.started,
            }),
        }
    }

    /// The settings in effect for `key`: those set, else Lambda's defaults.
    pub(super) fn effective(
        &self,
        key: &FunctionKey,
        config: &FunctionConfig,
    ) -> EventInvokeConfig {
        self.get(key, config)
            .map(|current| current.config)
            .unwrap_or_default()
    }

    /// Sets (`None`: removes) the settings of `key` from now on.
    #[cfg(any(feature = "manage", test))]
    pub(super) fn set(&self, key: FunctionKey, config: Option<EventInvokeConfig>) {
        let at = SystemTime::now();
        lock(&self.set).insert(key, Set { config, at });
    }

    /// The versions of `name` whose settings the API changed.
    #[cfg(any(feature = "manage", test))]
    pub(super) fn changed_versions(&self, name: &str) -> Vec<FunctionKey> {
        lock(&self.set)
            .keys()
            .filter(|key| key.name() == name)
            .cloned()
            .collect()
    }

    /// Forgets what the API set for every version of `name` (the function was deleted).
    #[cfg(any(feature = "manage", test))]
    pub(super) fn forget(&self, name: &str) {
        lock(&self.set).retain(|key, _| key.name() != name);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_apis_settings_replace_the_configurations_until_deleted() {
        let settings = Settings::new();
        let key = FunctionKey::latest("f");
        let mut config = FunctionConfig::new("f", "/bin/true");
        assert_eq!(settings.get(&key, &config), None);
        assert_eq!(
            settings.effective(&key, &config),
            EventInvokeConfig::default()
        );
        let mine = EventInvokeConfig {
            maximum_retry_attempts: 0,
            ..EventInvokeConfig::default()
        };
        config.event_invoke_config = Some(mine.clone());
        assert_eq!(settings.get(&key, &config).unwrap().config, mine);

        let api = EventInvokeConfig {
            maximum_event_age: Duration::from_secs(60),
            ..EventInvokeConfig::default()
        };
        settings.set(key.clone(), Some(api.clone()));
        assert_eq!(settings.effective(&key, &config), api);
        let other = FunctionKey::new("f", Some("1"));
        assert_eq!(settings.effective(&other, &config), mine, "per version");
        assert_eq!(settings.changed_versions("f"), std::slice::from_ref(&key));

        settings.set(key.clone(), None);
        assert_eq!(settings.get(&key, &config), None, "deleted");
        settings.forget("f");
        assert!(settings.changed_versions("f").is_empty());
        assert_eq!(settings.get(&key, &config).unwrap().config, mine);
    }
}
