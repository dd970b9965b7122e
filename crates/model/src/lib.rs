//! Stackwarden's domain model, shared by the desktop app and the `stackwarden`
//! command line. Pure data and pure functions: no engine, no database, no GUI,
//! so every rule here is unit-testable with hand-built values.

pub mod clock;
pub mod config;
pub mod error_text;
pub mod format;
pub mod redact;
pub mod service;
pub mod settings;
pub mod summary;
pub mod usage;

#[doc(hidden)]
pub mod testing;

pub use config::{Config, ConfigError};
pub use service::{
    ContainerAction, ContainerId, ContainerState, EndpointAttempt, EngineStatus, HealthState,
    HistoryPoint, LogBatch, LogLine, MountInfo, PortMapping, ResourceUsage, ServiceRow,
    StackSnapshot,
};
pub use summary::{OverallLevel, StackSummary};
pub use usage::{cpu_percent, CpuSample};
