//! gw: makes coding-agent spend visible and bounded.
//!
//! The parts follow `DESIGN.md`: `cli` parses and dispatches, `config` resolves settings,
//! `proxy` forwards and meters, `meter` extracts usage from wire protocols, `pricing` turns
//! usage into cost, `ledger` stores one row per request, `attribution` says who and where, `sync` talks to
//! the gw server (leases, usage upload) in team mode, `limits` bounds what one request can claim.

pub mod agents;
pub mod api;
pub mod attribution;
pub mod budget;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod dimension;
pub mod first_request;
pub mod import;
pub mod ledger;
pub mod limits;
pub mod logging;
pub mod meter;
pub mod otel;
pub mod pricing;
pub mod private_fs;
pub mod proxy;
pub mod report;
pub mod server;
pub mod sync;
