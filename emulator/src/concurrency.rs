//! Concurrency as Lambda counts it, and the local cap on instance processes.
//!
//! AWS (<https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html>,
//! <https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html>): an account
//! has a concurrency limit per region (1,000 by default). A function with reserved concurrency
//! runs at most that many invocations at once, and those units are set aside for it; every
//! other function shares what is left of the account's limit (the unreserved pool), of which AWS
//! keeps at least 100 (a reservation that would leave less is refused). Reserved concurrency 0
//! throttles every invocation. Concurrency settings apply to the function as a whole, its
//! published versions included (PutFunctionConcurrency's API reference). A synchronous
//! invocation over its limit gets 429 with `Reason` `ReservedFunctionConcurrentInvocationLimitExceeded`
//! (reserved) or `ConcurrentInvocationLimitExceeded` (the unreserved pool); see `ThrottleReason`
//! in <https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors>.
//!
//! Local deviation: a laptop cannot run a thousand processes of a debug build, so each function
//! has at most [`DEFAULT_MAX_INSTANCES`] instance processes (adjustable). An invocation that
//! Lambda's limits admit but that finds every allowed instance busy waits for one (logged once),
//! it is not throttled; if none frees up within its wait bound it fails with a
//! `ServiceException`, never a 429.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

pub(crate) use crate::instance::Limit;
use crate::instance::Refused;
use crate::sync::lock;

/// The account's concurrency limit unless set otherwise (AWS's default quota).
pub const DEFAULT_ACCOUNT_CONCURRENCY: usize = 1_000;

/// Instance processes per function unless set otherwise (a local cap, not Lambda's).
pub const DEFAULT_MAX_INSTANCES: usize = 64;

/// The part of the account's limit AWS keeps unreserved.
#[cfg(feature = "manage")]
const MIN_UNRESERVED: usize = 100;

/// The emulator's concurrency: limits, settings and what runs, per function name.
#[derive(Debug)]
pub(crate) struct Concurrency {
    state: Mutex<State>,
    /// Signalled whenever a limit may have room again (a lease ended or a setting changed).
    changed: Notify,
    /// The local cap was reached once (logged the first time only).
    capped: AtomicBool,
}

#[derive(Debug)]
struct State {
    account: usize,
    max_instances: usize,
    functions: HashMap<String, Slot>,
    /// Invocations of unreserved functions counted against the unreserved pool.
    unreserved: usize,
    next_id: u64,
}

/// One function (all its versions).
#[derive(Debug)]
struct Slot {
    /// Tells a function from a deleted one of the same name, so old leases end in their own.
    id: u64,
    reserved: Option<usize>,
    /// Invocations counted against `reserved`.
    running: usize,
    /// Instance slots in use (the local cap): one per invocation, an instance of a function
    /// running several invocations at once having that many.
    instances: usize,
}

impl State {
    fn slot(&mut self, name: &str) -> &mut Slot {
        let next_id = &mut self.next_id;
        self.functions.entry(name.to_owned()).or_insert_with(|| {
            *next_id += 1;
            Slot {
                id: *next_id,
                reserved: None,
                running: 0,
                instances: 0,
            }
        })
    }

    /// What unreserved functions share: the account's limit less every reservation.
    fn unreserved_pool(&self) -> usize {
        let reserved: usize = self.functions.values().filter_map(|s| s.reserved).sum();
        self.account.saturating_sub(reserved)
    }

    /// Counts an invocation of `name` if its limit has room; otherwise the limit and its size.
    fn admit(&mut self, name: &str) -> Result<(u64, Counted), (Limit, usize)> {
        let pool = self.unreserved_pool();
        let unreserved = self.unreserved;
        let slot = self.slot(name);
        match slot.reserved {
            Some(reserved) if slot.running < reserved => {
                slot.running += 1;
                Ok((slot.id, Counted::Reserved))
            }
            Some(reserved) => Err((Limit::Reserved, reserved)),
            None if unreserved < pool => {
                let id = slot.id;
                self.unreserved += 1;
                Ok((id, Counted::Unreserved))
            }
            None => Err((Limit::Account, pool)),
        }
    }

    /// Takes an instance slot of function `id` if the local cap (instances of `per_instance`
    /// slots each) allows one.
    fn start_instance(&mut self, name: &str, id: u64, per_instance: usize) -> Option<()> {
        let max = self.max_instances.saturating_mul(per_instance.max(1));
        match self.functions.get_mut(name) {
            Some(slot) if slot.id == id => (slot.instances < max).then(|| slot.instances += 1),
            // Deleted meanwhile: the invocation runs on uncounted.
            _ => Some(()),
        }
    }
}

/// Which counter a lease is in.
#[derive(Debug, Clone, Copy)]
enum Counted {
    Reserved,
    Unreserved,
}

/// A reservation leaving less than AWS's minimum unreserved concurrency.
#[cfg(feature = "manage")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BelowMinimum {
    /// The minimum the account keeps unreserved.
    pub(crate) minimum: usize,
}

impl Default for Concurrency {
    fn default() -> Self {
        Concurrency {
            state: Mutex::new(State {
                account: DEFAULT_ACCOUNT_CONCURRENCY,
                max_instances: DEFAULT_MAX_INSTANCES,
                functions: HashMap::new(),
                unreserved: 0,
                next_id: 0,
            }),
            changed: Notify::new(),
            capped: AtomicBool::new(false),
        }
    }
}

impl Concurrency {
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.lock());
        self.changed.notify_waiters();
    }

    /// Sets the account's concurrency limit.
    pub(crate) fn set_account_limit(&self, limit: usize) {
        self.update(|state| state.account = limit);
    }

    /// Sets the most instance processes of one function (at least 1).
    pub(crate) fn set_max_instances(&self, max: usize) {
        self.update(|state| state.max_instances = max.max(1));
    }

    /// The account's limit, and what of it no function reserves (GetAccountSettings'
    /// `ConcurrentExecutions` and `UnreservedConcurrentExecutions`).
    #[cfg(feature = "manage")]
    pub(crate) fn account(&self) -> (usize, usize) {
        let state = self.lock();
        let reserved: usize = state
            .functions
            .values()
            .filter_map(|slot| slot.reserved)
            .sum();
        (state.account, state.account.saturating_sub(reserved))
    }

    /// The most instance processes of one function.
    pub(crate) fn max_instances(&self) -> usize {
        self.lock().max_instances
    }

    /// The reserved concurrency of `name`, if any.
    pub(crate) fn reserved(&self, name: &str) -> Option<usize> {
        self.lock()
            .functions
            .get(name)
            .and_then(|slot| slot.reserved)
    }

    /// Sets (or with `None` removes) the reserved concurrency of `name`, unchecked: the
    /// configuration of the project's functions.
    pub(crate) fn set_reserved(&self, name: &str, reserved: Option<usize>) {
        self.update(|state| state.slot(name).reserved = reserved);
    }

    /// Reserves `reserved` for `name` as PutFunctionConcurrency does: refused if the unreserved
    /// pool would fall below AWS's minimum (100, or the whole limit of a smaller account).
    #[cfg(feature = "manage")]
    pub(crate) fn reserve(&self, name: &str, reserved: usize) -> Result<(), BelowMinimum> {
        let mut state = self.lock();
        let minimum = MIN_UNRESERVED.min(state.account);
        let others: usize = state
            .functions
            .iter()
            .filter(|(other, _)| *other != name)
            .filter_map(|(_, slot)| slot.reserved)
            .sum();
        if state.account < others.saturating_add(reserved).saturating_add(minimum) {
            return Err(BelowMinimum { minimum });
        }
        state.slot(name).reserved = Some(reserved);
        drop(state);
        self.changed.notify_waiters();
        Ok(())
    }

    /// Forgets function `name` (deleted): its reservation returns to the unreserved pool.
    #[cfg(feature = "manage")]
    pub(crate) fn forget(&self, name: &str) {
        self.update(|state| {
            state.functions.remove(name);
        });
    }

    /// Waits until `attempt` gives an answer, trying again whenever something changed.
    async fn until<T>(&self, mut attempt: impl FnMut(&mut State) -> Option<T>) -> T {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before trying, so a change in between is not missed.
            changed.as_mut().enable();
            if let Some(answer) = attempt(&mut self.lock()) {
                return answer;
            }
            changed.await;
        }
    }

    /// Admits an invocation of `name` and gives it an instance slot.
    ///
    /// Over Lambda's limits a synchronous invocation is throttled; a queued one (`queue`) waits
    /// for room, unless the limit is 0 (it would wait forever: the asynchronous queue retries it
    /// later instead). Over the local cap (of instances running `per_instance` invocations
    /// each) either waits, at most `wait`.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        name: &str,
        queue: bool,
        wait: Duration,
        per_instance: usize,
    ) -> Result<Lease, Refused> {
        let (id, counted) = self
            .until(|state| match state.admit(name) {
                Ok(admitted) => Some(Ok(admitted)),
                Err((limit, size)) if !queue || size == 0 => Some(Err(limit)),
                Err(_) => None,
            })
            .await
            .map_err(Refused::Throttled)?;
        let mut lease = Lease {
            concurrency: self.clone(),
            name: name.to_owned(),
            id,
            counted,
            instance: false,
        };
        let started = self.until(|state| {
            let started = state.start_instance(name, id, per_instance);
            if started.is_none() && !self.capped.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    function = name,
                    max_instances = state.max_instances,
                    "every instance this function may have locally is busy: invocations wait for one (on AWS they would run at once); raise --max-instances to run more"
                );
            }
            started
        });
        tokio::time::timeout(wait, started)
            .await
            .map_err(|_| Refused::NoInstance)?;
        lease.instance = true;
        Ok(lease)
    }
}

/// One admitted invocation: counted in its limit, and holding an instance slot once it has one,
/// until dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    concurrency: Arc<Concurrency>,
    name: String,
    id: u64,
    counted: Counted,
    instance: bool,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.concurrency.update(|state| {
            if let Counted::Unreserved = self.counted {
                state.unreserved = state.unreserved.saturating_sub(1);
            }
            let Some(slot) = state.functions.get_mut(&self.name) else {
                return;
            };
            if slot.id != self.id {
                return;
            }
            if let Counted::Reserved = self.counted {
                slot.running = slot.running.saturating_sub(1);
            }
            if self.instance {
                slot.instances = slot.instances.saturating_sub(1);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn acquire(c: &Arc<Concurrency>, name: &str) -> Result<Lease, Refused> {
        c.acquire(name, false, Duration::from_millis(50), 1).await
    }

    #[tokio::test]
    async fn reserved_and_unreserved_limits_throttle_with_their_reason() {
        let c = Arc::new(Concurrency::default());
        c.set_account_limit(3);
        c.set_reserved("r", Some(1));
        let held = acquire(&c, "r").await.unwrap();
        assert_eq!(
            acquire(&c, "r").await.unwrap_err(),
            Refused::Throttled(Limit::Reserved)
        );
        // The unreserved pool is the account's limit less the reservation: 2.
        let a = acquire(&c, "u").await.unwrap();
        let b = acquire(&c, "v").await.unwrap();
        assert_eq!(
            acquire(&c, "u").await.unwrap_err(),
            Refused::Throttled(Limit::Account)
        );
        drop((held, a));
        assert!(acquire(&c, "r").await.is_ok());
        assert!(acquire(&c, "u").await.is_ok());
        drop(b);
    }

    #[tokio::test]
    async fn reserved_zero_throttles_even_queued_invocations() {
        let c = Arc::new(Concurrency::default());
        c.set_reserved("off", Some(0));
        let queued = c.acquire("off", true, Duration::MAX, 1).await;
        assert_eq!(queued.unwrap_err(), Refused::Throttled(Limit::Reserved));
    }

    #[tokio::test]
    async fn over_the_local_cap_invocations_wait_and_are_not_throttled() {
        let c = Arc::new(Concurrency::default());
        c.set_max_instances(1);
        let held = acquire(&c, "f").await.unwrap();
        assert_eq!(acquire(&c, "f").await.unwrap_err(), Refused::NoInstance);
        let waiting = {
            let c = c.clone();
            tokio::spawn(async move { c.acquire("f", false, Duration::from_secs(30), 1).await })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiting.await.unwrap().is_ok());
    }

    #[cfg(feature = "manage")]
    #[test]
    fn reservations_leave_awss_minimum_unreserved() {
        let c = Concurrency::default();
        assert_eq!(c.reserve("a", 900), Ok(()));
        assert_eq!(c.reserve("b", 1), Err(BelowMinimum { minimum: 100 }));
        // Replacing a function's own reservation does not count it twice.
        assert_eq!(c.reserve("a", 899), Ok(()));
        assert_eq!(c.reserve("b", 1), Ok(()));
        c.forget("a");
        assert_eq!(c.reserved("a"), None);
        assert_eq!(c.reserve("b", 900), Ok(()));
        // A small account keeps all of its limit unreserved.
        c.set_account_limit(4);
        assert_eq!(c.reserve("c", 1), Err(BelowMinimum { minimum: 4 }));
        assert_eq!(c.reserve("c", 0), Err(BelowMinimum { minimum: 4 }));
    }
}
