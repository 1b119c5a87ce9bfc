//! Hotfix routing: turns a UbiquityOS `kernel.plugin_error` event or a failed GitHub
//! `workflow_run` into one issue per failure cluster. Pure logic: no I/O, no clock, no GitHub
//! calls; the server stores failures and the worker files them.

pub mod cluster;
pub mod config;
pub mod event;
pub mod route;
pub mod webhook;

pub use config::{HotfixConfig, Mode, RiskPolicy};
