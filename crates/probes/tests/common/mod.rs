//! Shared by the probe tests: probes from a YAML snippet, and what failed.

use stackwarden_health::ProbeOutcome;
use stackwarden_stack::{parse, Probe};

/// The probes of one service, from the lines under its `probes:` key.
pub fn probes(yaml_probes: &str) -> Vec<Probe> {
    let text = format!(
        "services:\n  svc:\n    image: x\n    x-stackwarden:\n      probes:\n{yaml_probes}"
    );
    match parse(&text, "test.yaml") {
        Ok(stack) => stack.services[0].probes.clone(),
        Err(e) => panic!("{e}"),
    }
}

/// Each failing condition with what was observed.
pub fn failing(o: &ProbeOutcome) -> Vec<(String, String)> {
    o.conditions
        .iter()
        .filter(|c| !c.success)
        .map(|c| (c.condition.clone(), c.observed.clone()))
        .collect()
}
