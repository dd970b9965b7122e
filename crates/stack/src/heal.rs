//! `heal:` under `x-stackwarden`, per group and per service: the policy
//! the healer follows (`stackwarden-heal`). A group's policy applies to its
//! services; a service's keys override its group's. Off unless written.

use std::time::Duration;

use serde_saphyr::Spanned;
use stackwarden_heal::{HealAction, HealPolicy, LogPattern, PatternEffect, Trigger};

use crate::compose::HealEntry;
use crate::duration::parse_duration;
use crate::validate::Problems;

/// The largest compiled size a log pattern may take: patterns run on every
/// log line, and a huge one would cost the app its memory.
const PATTERN_SIZE_LIMIT: usize = 1 << 20;
const MAX_PATTERNS: usize = 32;
const MAX_ACTIONS: u32 = 1000;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// The policy of `service` from its group's entry and its own; `None` when
/// neither has one.
pub(crate) fn heal_policy(
    service: &str,
    group: Option<&Spanned<HealEntry>>,
    own: Option<&Spanned<HealEntry>>,
    problems: &mut Problems<'_>,
) -> Option<HealPolicy> {
    if group.is_none() && own.is_none() {
        return None;
    }
    let mut policy = HealPolicy {
        enabled: true,
        ..HealPolicy::default()
    };
    for entry in [group, own].into_iter().flatten() {
        apply(service, &entry.value, &mut policy, problems);
    }
    if policy.backoff.cap_ms < policy.backoff.initial_ms {
        let at = own
            .or(group)
            .map_or(serde_saphyr::Location::UNKNOWN, |e| e.referenced);
        problems.at(
            &at,
            format!("service `{service}`, heal.backoff: `cap` is shorter than `initial`"),
        );
    }
    Some(policy)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn duration(
    service: &str,
    key: &str,
    value: Option<&Spanned<String>>,
    (min, max): (Duration, Duration),
    problems: &mut Problems<'_>,
) -> Option<u64> {
    let v = value?;
    match parse_duration(&v.value) {
        Ok(d) if d < min || d > max => {
            problems.at(
                &v.referenced,
                format!(
                    "service `{service}`, heal.{key}: `{}` is outside {} to {}",
                    v.value.trim(),
                    show(min),
                    show(max)
                ),
            );
            None
        }
        Ok(d) => Some(ms(d)),
        Err(reason) => {
            problems.at(
                &v.referenced,
                format!("service `{service}`, heal.{key}: {reason}"),
            );
            None
        }
    }
}

fn show(d: Duration) -> String {
    match d.as_secs() {
        0 => format!("{}ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn apply(service: &str, e: &HealEntry, p: &mut HealPolicy, problems: &mut Problems<'_>) {
    if let Some(on) = e.enabled {
        p.enabled = on;
    }
    if let Some(on) = &e.on {
        let mut list = Vec::new();
        for word in &on.value {
            match Trigger::from_word(word.trim()) {
                Some(t) if !list.contains(&t) => list.push(t),
                Some(_) => {}
                None => problems.at(
                    &on.referenced,
                    format!("service `{service}`, heal.on: `{word}` is not a status; use down, unhealthy or degraded"),
                ),
            }
        }
        if list.is_empty() && on.value.is_empty() {
            problems.at(
                &on.referenced,
                format!("service `{service}`, heal.on is empty; to turn healing off write `enabled: false`"),
            );
        }
        p.on = list;
    }
    let any = (Duration::ZERO, DAY);
    if let Some(v) = duration(service, "after", e.after.as_ref(), any, problems) {
        p.after_ms = v;
    }
    let degraded = e.degraded_after.as_ref();
    if let Some(v) = duration(service, "degraded_after", degraded, any, problems) {
        p.degraded_after_ms = v;
    }
    let grace = (Duration::ZERO, Duration::from_secs(3600));
    if let Some(v) = duration(
        service,
        "start_grace",
        e.start_grace.as_ref(),
        grace,
        problems,
    ) {
        p.start_grace_ms = v;
    }
    if let Some(v) = duration(
        service,
        "engine_grace",
        e.engine_grace.as_ref(),
        grace,
        problems,
    ) {
        p.engine_grace_ms = v;
    }
    if let Some(a) = &e.action {
        match a.value.trim() {
            "restart" => p.action = HealAction::Restart,
            "start" => p.action = HealAction::Start,
            "recreate" => problems.at(
                &a.referenced,
                format!("service `{service}`, heal.action: the healer never recreates a container (it can lose data); that is the recovery wizard's job (`stackwarden recover`). Use restart or start"),
            ),
            other => problems.at(
                &a.referenced,
                format!("service `{service}`, heal.action: `{other}` is not an action; use restart or start"),
            ),
        }
    }
    if let Some(b) = &e.backoff {
        let wait = (Duration::from_millis(100), DAY);
        if let Some(v) = duration(
            service,
            "backoff.initial",
            b.initial.as_ref(),
            wait,
            problems,
        ) {
            p.backoff.initial_ms = v;
        }
        if let Some(v) = duration(service, "backoff.cap", b.cap.as_ref(), wait, problems) {
            p.backoff.cap_ms = v;
        }
        let reset = b.reset_after.as_ref();
        if let Some(v) = duration(service, "backoff.reset_after", reset, any, problems) {
            p.backoff.reset_after_ms = v;
        }
        if let Some(f) = &b.factor {
            if f.value.is_finite() && (1.0..=10.0).contains(&f.value) {
                p.backoff.factor = f.value;
            } else {
                problems.at(
                    &f.referenced,
                    format!(
                        "service `{service}`, heal.backoff.factor must be a number from 1 to 10"
                    ),
                );
            }
        }
    }
    if let Some(l) = &e.limit {
        if let Some(n) = &l.actions {
            if (1..=MAX_ACTIONS).contains(&n.value) {
                p.limit.actions = n.value;
            } else {
                problems.at(
                    &n.referenced,
                    format!(
                        "service `{service}`, heal.limit.actions must be from 1 to {MAX_ACTIONS}"
                    ),
                );
            }
        }
        let window = (Duration::from_secs(1), 7 * DAY);
        if let Some(v) = duration(service, "limit.within", l.within.as_ref(), window, problems) {
            p.limit.within_ms = v;
        }
    }
    if let Some(list) = &e.log_patterns {
        p.log_patterns = list
            .iter()
            .take(MAX_PATTERNS)
            .filter_map(|entry| log_pattern(service, entry, problems))
            .collect();
        if list.len() > MAX_PATTERNS {
            if let Some(extra) = list.get(MAX_PATTERNS) {
                problems.at(
                    &extra.referenced,
                    format!("service `{service}`: at most {MAX_PATTERNS} log patterns"),
                );
            }
        }
    }
}

fn log_pattern(
    service: &str,
    entry: &Spanned<crate::compose::LogPatternEntry>,
    problems: &mut Problems<'_>,
) -> Option<LogPattern> {
    let pattern = &entry.value.pattern;
    let compiled = regex::RegexBuilder::new(&pattern.value)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build();
    if let Err(e) = compiled {
        let why = e.to_string();
        let last = why.lines().last().unwrap_or(&why).trim().to_string();
        problems.at(
            &pattern.referenced,
            format!("service `{service}`, log pattern: {last}"),
        );
        return None;
    }
    let effect = match entry.value.effect.as_ref().map(|e| (e.value.trim(), e)) {
        None | Some(("unhealthy", _)) => PatternEffect::Unhealthy,
        Some(("act", _)) => PatternEffect::Act,
        Some((other, e)) => {
            problems.at(
                &e.referenced,
                format!("service `{service}`, log pattern effect `{other}`: use unhealthy or act"),
            );
            return None;
        }
    };
    Some(LogPattern {
        pattern: pattern.value.clone(),
        effect,
    })
}
