//! Synchronisation helpers shared by every layer: locks that outlive a panic elsewhere, and the
//! emulator's shutdown signal.
//!
//! A lock is poisoned when a thread panics while holding it. The emulator's shared state stays
//! consistent across such a panic (each critical section is a single update), so the data is
//! used as it is rather than turning one panic into a cascade.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use tokio::sync::watch;

/// Locks `mutex`, poisoned or not.
pub(crate) fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `lock`, poisoned or not.
pub(crate) fn read<T: ?Sized>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `lock`, poisoned or not.
pub(crate) fn write<T: ?Sized>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Resolves when the emulator starts closing.
pub(crate) async fn closed(closing: &mut watch::Receiver<bool>) {
    // An error means the emulator itself is gone: closing too.
    let _ = closing.wait_for(|closing| *closing).await;
}
