//! Every public listener's HTTP surface.

#[cfg(feature = "manage")]
pub(crate) mod manage;
