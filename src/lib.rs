//! gw: makes coding-agent spend visible and bounded.

pub mod meter;
pub mod pricing;
