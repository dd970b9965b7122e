//! What the wizard shows and records: findings, the plan and its steps,
//! progress while it acts, data fingerprints and the recovery's record.
//! Plain data, serialised for the window (typed bindings) and `--json`.

use serde::{Deserialize, Serialize};
use stackwarden_health::VerificationRun;
use ts_rs::TS;

/// How much a finding matters, most first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum Severity {
    /// Data is gone (a volume no longer exists): said before anything else.
    Loss,
    /// Nothing may start until it is fixed (a host port held, no disk space,
    /// an invalid stack file).
    Blocker,
    /// Something the plan repairs.
    Problem,
    /// Worth knowing, needs nothing.
    Note,
}

/// One thing the diagnosis found, with what shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Finding {
    pub severity: Severity,
    pub service: Option<String>,
    pub title: String,
    pub evidence: String,
    /// What to do about it, when the plan cannot.
    pub hint: String,
}

/// A service's container as the diagnosis found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum ServiceCondition {
    Healthy,
    /// Running, its healthcheck has not answered yet.
    Starting,
    Running,
    Unhealthy,
    Stopped,
    CrashLooping,
    Missing,
    /// Running or stopped, but from another image than the stack file's.
    Outdated,
}

impl ServiceCondition {
    pub fn word(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Unhealthy => "unhealthy",
            Self::Stopped => "stopped",
            Self::CrashLooping => "crash-looping",
            Self::Missing => "missing",
            Self::Outdated => "outdated",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ServiceState {
    pub service: String,
    pub required: bool,
    /// Its container's name (the one to create when missing).
    pub container: String,
    pub container_id: Option<String>,
    pub condition: ServiceCondition,
    /// The image the stack file names, and whether the engine has it.
    pub image: Option<String>,
    pub image_present: bool,
    /// For a container that would be replaced: what it wrote outside its
    /// volumes (`A /srv/notes.txt`), lost with it.
    pub unsaved: Vec<String>,
}

/// The engine as the diagnosis found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct EngineFinding {
    pub reachable: bool,
    pub endpoint: Option<String>,
    /// Each endpoint tried and why it did not answer.
    pub tried: Vec<String>,
    pub podman: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Diagnosis {
    #[ts(type = "number")]
    pub taken_at_ms: i64,
    pub engine: EngineFinding,
    /// Most severe first: data lost, blockers, problems, notes.
    pub findings: Vec<Finding>,
    pub services: Vec<ServiceState>,
    /// Networks and named volumes the containers to create need and the
    /// engine lacks (engine names, with the key the file gives them).
    pub missing_networks: Vec<(String, String)>,
    pub missing_volumes: Vec<(String, String)>,
    /// Of those, the volumes that held data before (gone: data lost), each
    /// with the service that had it.
    #[serde(default)]
    pub lost_volumes: Vec<(String, String)>,
    /// The compose project the stack's containers carry (as the user's
    /// compose tool named it), for the compose tool's `-p`.
    #[serde(default)]
    pub project: String,
}

impl Diagnosis {
    pub fn blockers(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Blocker)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum StepKind {
    StartEngine,
    CreateNetwork,
    CreateVolume,
    Pull,
    Start,
    Restart,
    /// Create a missing container from the stack file.
    Create,
    /// Remove a container and create it again from the stack file.
    Replace,
    /// Hand the service to the user's compose tool.
    Compose,
    /// Wait for the service to be healthy (or running, without a health
    /// check).
    Wait,
}

/// What a destructive step would lose, and the backups taken first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Loss {
    /// One line: what is lost.
    pub summary: String,
    /// The paths (in the container) whose data would be lost.
    pub paths: Vec<String>,
    /// Archived to the data folder before the step runs.
    pub backups: Vec<BackupTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct BackupTarget {
    pub container_id: String,
    /// A folder in the container.
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Step {
    pub id: u32,
    pub kind: StepKind,
    pub service: Option<String>,
    /// What it does, one line.
    pub title: String,
    pub why: String,
    #[ts(type = "number")]
    pub expected_ms: u64,
    /// `Some` for a destructive step: it needs its own confirmation and
    /// runs after its backups.
    pub loss: Option<Loss>,
    /// Steps that must be done (and, for a dependency, its condition met)
    /// first.
    pub after: Vec<u32>,
    /// The image, network, volume or container it acts on.
    pub target: String,
    /// The exact command it runs, for the engine start and the compose
    /// tool; empty for engine API steps.
    pub command: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Findings that stop the plan from running at all.
    pub blockers: Vec<Finding>,
    /// Data already lost, said up front.
    pub data_lost: Vec<Finding>,
    #[ts(type = "number")]
    pub expected_ms: u64,
}

impl Plan {
    pub fn destructive(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.loss.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Something that happened while the plan ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum Progress {
    Started {
        step: u32,
    },
    /// A line of a command's output (the compose tool, the engine start).
    Line {
        step: u32,
        text: String,
    },
    /// A layer of a pull.
    Layer {
        step: u32,
        layer: String,
        status: String,
        #[ts(type = "number | null")]
        current: Option<u64>,
        #[ts(type = "number | null")]
        total: Option<u64>,
    },
    Backup {
        step: u32,
        file: String,
        #[ts(type = "number")]
        bytes: u64,
        sha256: String,
    },
    Done {
        step: u32,
        #[ts(type = "number")]
        ms: u64,
        note: String,
    },
    Failed {
        step: u32,
        reason: String,
        hint: String,
    },
    Skipped {
        step: u32,
        reason: String,
    },
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum StepStatus {
    Done,
    Failed,
    /// Not run: the plan stopped before it, or it was not confirmed.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct StepOutcome {
    pub step: u32,
    pub status: StepStatus,
    #[ts(type = "number")]
    pub ms: u64,
    pub note: String,
}

/// One value of the data fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct FingerprintItem {
    /// Stable across readings: `postgres:db:document_embeddings`, ...
    pub key: String,
    /// What the user reads: "document_embeddings rows".
    pub label: String,
    #[ts(type = "number | null")]
    pub value: Option<i64>,
    /// The value in words, or why it could not be read.
    pub text: String,
    pub rule: CompareRule,
    /// When it was read; older than the fingerprint when it could not be
    /// read now and an earlier reading stood in.
    #[ts(type = "number")]
    pub read_at_ms: i64,
}

/// How a value compares before and after a recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum CompareRule {
    /// Rows, points, keys: any difference is data lost or changed.
    Equal,
    /// Lines of a log that only grows: fewer is data lost.
    NotLess,
    /// Sizes, the last save: they move on their own; shown only.
    Shown,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Fingerprint {
    #[ts(type = "number")]
    pub taken_at_ms: i64,
    pub items: Vec<FingerprintItem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "bindings/")]
pub enum Match {
    Same,
    /// A value that may move moved (or a log grew).
    Changed,
    /// A value that must not differ does, or could be read before and
    /// not after.
    Differs,
    /// Could not be read before: nothing to compare.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct ComparedItem {
    pub key: String,
    pub label: String,
    pub before: String,
    pub after: String,
    pub verdict: Match,
}

/// The recovery as recorded on the incident and exported in its report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "bindings/")]
pub struct Recovery {
    #[ts(type = "number")]
    pub started_ms: i64,
    #[ts(type = "number")]
    pub finished_ms: i64,
    pub diagnosis: Diagnosis,
    pub plan: Plan,
    pub outcomes: Vec<StepOutcome>,
    pub before: Fingerprint,
    pub after: Fingerprint,
    pub compared: Vec<ComparedItem>,
    pub verification: Option<VerificationRun>,
    /// Healthy, verified and no data differs.
    pub ok: bool,
    /// Why not, one line each.
    pub problems: Vec<String>,
    /// The incident it was recorded on (its report includes it), once
    /// recorded.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub incident_id: Option<i64>,
}
