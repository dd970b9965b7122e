//! Health rules for Stackwarden's probes, as pure functions: conditions are
//! parsed and validated when a stack file is loaded, and every evaluation
//! keeps each condition's result and the value it observed, so the window can
//! say exactly why a service is unhealthy.

pub mod condition;

pub use condition::{Condition, ConditionError, ConditionResult, Observation};
