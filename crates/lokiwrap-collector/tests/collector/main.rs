//! The collector's integration tests, in one binary so that its dependencies are linked once:
//! a real `lokiwrap-collector` process on loopback, driven over HTTP, with a fake GitHub.

mod common;

mod attacks;
mod attacks_events;
mod attacks_github;
mod attacks_hidden_secrets;
mod attacks_markers;
mod attacks_unsigned;
mod cluster;
mod dashboard;
mod fake_github_itself;
mod github;
mod github_app;
mod hotfix;
mod ingest;
mod kernel_plugin;
mod metrics;
mod promotion;
mod replay;
mod store_upgrade;
