//! The one owner of the container engine connection. Everything that talks to
//! Podman or Docker goes through here (bollard over the Docker-compatible
//! API): finding the endpoint, building service rows, sampling resources,
//! following events and logs, and running actions.

mod convert;
pub mod endpoint;
mod engine;
mod error;
mod libpod;
pub mod monitor;
mod objects;

pub use convert::{cpu_sample, row_from_inspect, usage_from_stats};
pub use endpoint::{connect, Candidate, Connection};
pub use engine::{Engine, ListedContainer, RefreshTiming, StatsSample};
pub use error::EngineError;
pub use monitor::{MonitorHandle, StackMonitor};
pub use objects::{LayerChange, PullProgress, VolumeInfo};
