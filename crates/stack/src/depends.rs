//! `depends_on`: which services a service waits for and on what condition,
//! kept for the recovery order later work needs, and the check compose
//! makes that no service waits on itself through others (a cycle).

use std::collections::BTreeMap;

/// What a dependency must reach before its dependent starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyCondition {
    /// `service_started` (and the list form's meaning).
    Started,
    /// `service_healthy`: its HEALTHCHECK passes.
    Healthy,
    /// `service_completed_successfully`: it ran and exited 0.
    CompletedSuccessfully,
}

impl DependencyCondition {
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "service_started" => Some(Self::Started),
            "service_healthy" => Some(Self::Healthy),
            "service_completed_successfully" => Some(Self::CompletedSuccessfully),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "service_started",
            Self::Healthy => "service_healthy",
            Self::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// One entry of a service's `depends_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub service: String,
    pub condition: DependencyCondition,
    /// `required: false` (compose 2.20+): the dependent starts without it.
    pub required: bool,
}

/// The first dependency cycle found, as the services along it with the
/// first repeated at the end (`a → b → c → a`). `graph` maps each service
/// to the services it depends on; names it does not hold are ignored
/// (they are reported as unknown elsewhere).
pub fn find_cycle(graph: &BTreeMap<&str, Vec<&str>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = graph.keys().map(|k| (*k, Mark::New)).collect();
    for &start in graph.keys() {
        if marks.get(start) != Some(&Mark::New) {
            continue;
        }
        // Iterative depth-first search: (service, index of its next edge).
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        marks.insert(start, Mark::OnPath);
        while let Some((node, next)) = path.last().copied() {
            let edges = graph.get(node).map(Vec::as_slice).unwrap_or_default();
            let Some(&to) = edges.get(next) else {
                marks.insert(node, Mark::Done);
                path.pop();
                continue;
            };
            if let Some(top) = path.last_mut() {
                top.1 += 1;
            }
            match marks.get(to) {
                Some(Mark::New) => {
                    marks.insert(to, Mark::OnPath);
                    path.push((to, 0));
                }
                Some(Mark::OnPath) => {
                    let from = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[from..].iter().map(|(n, _)| n.to_string()).collect();
                    cycle.push(to.to_string());
                    return Some(cycle);
                }
                _ => {}
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph<'a>(edges: &[(&'a str, &[&'a str])]) -> BTreeMap<&'a str, Vec<&'a str>> {
        edges.iter().map(|(k, v)| (*k, v.to_vec())).collect()
    }

    #[test]
    fn cycles_are_named_along_their_path() {
        let g = graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"]), ("d", &["a"])]);
        assert_eq!(
            find_cycle(&g).map(|c| c.join(" → ")),
            Some("a → b → c → a".into())
        );
        assert_eq!(
            find_cycle(&graph(&[("a", &["a"])])),
            Some(vec!["a".into(), "a".into()])
        );
    }

    #[test]
    fn diamonds_and_unknown_names_are_not_cycles() {
        let g = graph(&[
            ("app", &["db", "cache"]),
            ("db", &["disk"]),
            ("cache", &["disk"]),
            ("disk", &[]),
            ("x", &["nope"]),
        ]);
        assert_eq!(find_cycle(&g), None);
    }

    proptest::proptest! {
        #[test]
        fn a_reported_cycle_is_a_real_one(edges in proptest::collection::vec((0u8..8, 0u8..8), 0..20)) {
            let names: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
            let mut g: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (from, to) in &edges {
                g.entry(names[usize::from(*from)].as_str()).or_default().push(names[usize::from(*to)].as_str());
            }
            if let Some(cycle) = find_cycle(&g) {
                proptest::prop_assert_eq!(cycle.first(), cycle.last());
                for pair in cycle.windows(2) {
                    proptest::prop_assert!(g.get(pair[0].as_str()).is_some_and(|e| e.contains(&pair[1].as_str())));
                }
            }
        }
    }
}
