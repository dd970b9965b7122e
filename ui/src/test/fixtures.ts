// Hand-built rows and a fake backend for component tests.
import { vi } from "vitest";
import type { Backend } from "../api";
import type { Progress } from "../bindings/Progress";
import type { Recovery } from "../bindings/Recovery";
import type { RecoveryPreview } from "../bindings/RecoveryPreview";
import type { ServiceRow } from "../bindings/ServiceRow";
import type { CheckResult } from "../bindings/CheckResult";
import type { ServiceStatus } from "../bindings/ServiceStatus";
import type { VerificationRun } from "../bindings/VerificationRun";
import type { VerifyStarted } from "../bindings/VerifyStarted";

export type EventName =
  | "verify-started"
  | "verify-progress"
  | "verify-done"
  | "show-view"
  | "runtime-status"
  | "recovery-progress"
  | "settings-changed";
import type { StackHealth } from "../bindings/StackHealth";
import type { ActionEntry } from "../bindings/ActionEntry";
import type { TelemetryView } from "../bindings/TelemetryView";
import type { TimelineData } from "../bindings/TimelineData";
import type { StackSnapshot } from "../bindings/StackSnapshot";
import type { RuntimeStatus } from "../bindings/RuntimeStatus";
import type { Settings } from "../bindings/Settings";
import type { SettingsView } from "../bindings/SettingsView";

export function settingsView(over: Partial<Settings> = {}): SettingsView {
  return {
    settings: {
      stack_files: ["/home/me/ai/compose.yaml"],
      engine_endpoint: null,
      refresh_interval_ms: 2000,
      retention_hours: 24,
      notifications: { incidents: true, quarantine: true, verification: true, engine: true },
      autostart: false,
      theme: "system",
      healing_enabled: true,
      ...over,
    },
    config_path: "/home/me/.config/stackwarden/config.toml",
    problems: [],
    autostart_active: false,
    pinned_endpoint: null,
  };
}

/** A stored drill of `service` that recovered in 1.2 s. */
export function storedDrill(service: string) {
  return {
    id: 1,
    drill: {
      at_ms: 1_000_000,
      service,
      container: `c-${service}`,
      detected_ms: 300,
      acted_ms: 600,
      running_ms: 700,
      healthy_ms: 1200,
      recovered: true,
      note: "healed: healthy again 1.2 s after the kill",
    },
  };
}

export const NO_HEALING = { active: true, paused: null, services: [] };

export function row(over: Partial<ServiceRow> & { name: string }): ServiceRow {
  return {
    id: `id-${over.name}`,
    image: "localhost/test:latest",
    project: null,
    compose_service: null,
    replica: null,
    state: "running",
    health: "none",
    exit_code: null,
    started_at_ms: 0,
    restart_count: 0,
    restart_policy: "",
    ports: [],
    mounts: [],
    usage: null,
    ...over,
  };
}

export function snapshot(services: ServiceRow[], over: Partial<StackSnapshot> = {}): StackSnapshot {
  const running = services.filter((s) => s.state === "running").length;
  return {
    engine: { kind: "connected", endpoint: "unix:///run/podman/podman.sock", source: "DOCKER_HOST" },
    services,
    summary: {
      level: running === services.length ? "all_running" : "some_not_running",
      running,
      total: services.length,
      unhealthy: 0,
      headline: `${running} of ${services.length} running`,
    },
    config_error: null,
    updated_at_ms: 0,
    ...over,
  };
}

export function noHealth(): StackHealth {
  return {
    source: "<built-in AI stack>",
    stack_name: null,
    stack_project: null,
    stack_error: null,
    services: [],
    breakdown: null,
    level: null,
    headline: "No stack loaded",
    last_runs: [],
    updated_at_ms: 0,
  };
}

/** A stack "ai": core (required) with web and db, extras (optional) with ghost (no container). */
export function stackHealth(webStatus: ServiceStatus = "healthy"): StackHealth {
  const svc = (service: string, group: string, required: boolean, has_container: boolean) => ({
    service,
    group,
    required,
    container: `ai-${service}`,
    has_container,
    containers: has_container ? [`ai-${service}`] : [],
    image: "localhost/test:latest",
    probes:
      service === "web"
        ? [{ name: "health", kind: "http", target: "http://127.0.0.1:8091/health", interval_ms: 5000, timeout_ms: 2000 }]
        : [],
  });
  const webOk = webStatus === "healthy";
  const coreScore = webOk ? 100 : webStatus === "degraded" ? 75 : 50;
  return {
    source: "/home/u/ai/compose.yaml",
    stack_name: "ai",
    stack_project: "ai",
    stack_error: null,
    services: [svc("web", "Core", true, true), svc("db", "Core", true, true), svc("ghost", "Extras", false, false)],
    breakdown: {
      services: [
        { service: "web", container: "ai-web", replicas: [], group: "Core", status: webStatus, reason: webOk ? "all 1 probes pass" : "all 1 probes failing" },
        { service: "db", container: "ai-db", replicas: [], group: "Core", status: "healthy", reason: "running (no probes)" },
        { service: "ghost", container: "ai-ghost", replicas: [], group: "Extras", status: "down", reason: "no container named ai-ghost" },
      ],
      groups: [
        { group: "Core", required: true, weight: 3, healthy: webOk ? 2 : 1, total: 2, not_deployed: 0, score: coreScore },
        { group: "Extras", required: false, weight: 1, healthy: 0, total: 1, not_deployed: 0, score: 0 },
      ],
      overall: (3 * coreScore) / 4,
      formula: `overall = (3×${coreScore}% + 1×0%) / 4 = ${(3 * coreScore) / 4}%`,
    },
    level: webOk ? "healthy" : "degraded",
    headline: "ai: 75% healthy",
    last_runs: [
      {
        service: "web",
        at_ms: 1000,
        duration_ms: 12.5,
        outcome: {
          probe: "health",
          success: webOk,
          conditions: [
            { condition: "[STATUS] == 200", success: true, observed: "200" },
            { condition: "[BODY].status == ok", success: webOk, observed: webOk ? '"ok"' : '"degraded"' },
          ],
          error: null,
        },
      },
    ],
    updated_at_ms: 1000,
  };
}

export function fakeBackend(
  initial: StackSnapshot,
  health: StackHealth = noHealth(),
): Backend & {
  emit: (s: StackSnapshot) => void;
  emitHealth: (h: StackHealth) => void;
  emitEvent: (name: EventName, payload: unknown) => void;
} {
  let handler: ((s: StackSnapshot) => void) | null = null;
  let healthHandler: ((h: StackHealth) => void) | null = null;
  // Several components may listen to one event, as with Tauri's `listen`.
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const on =
    <T,>(name: EventName) =>
    async (h: (p: T) => void) => {
      const handler = h as (p: unknown) => void;
      const set = listeners.get(name) ?? new Set();
      set.add(handler);
      listeners.set(name, set);
      return () => {
        set.delete(handler);
      };
    };
  return {
    getSnapshot: vi.fn(async () => initial),
    appInfo: vi.fn(async () => ({
      version: "0.1.0",
      config_path: null,
      database_path: null,
      store_error: null,
      refresh_interval_ms: 2000,
      theme: "system" as const,
    })),
    containerAction: vi.fn(async () => {}),
    openLogs: vi.fn(async () => {}),
    closeLogs: vi.fn(async () => {}),
    serviceHistory: vi.fn(async () => []),
    setViewVisible: vi.fn(async () => {}),
    retryEngine: vi.fn(async () => {}),
    openUrl: vi.fn(async () => {}),
    onSnapshot: vi.fn(async (h) => {
      handler = h;
      return () => {
        handler = null;
      };
    }),
    onLogs: vi.fn(async () => () => {}),
    getHealth: vi.fn(async () => health),
    probeHistory: vi.fn(async () => [
      { probe: "health", at_ms: 0, duration_ms: 10, success: true },
      { probe: "health", at_ms: 1000, duration_ms: 12.5, success: true },
    ]),
    onHealth: vi.fn(async (h) => {
      healthHandler = h;
      return () => {
        healthHandler = null;
      };
    }),
    timeline: vi.fn(async (spanMs: number) => timelineData(spanMs)),
    telemetry: vi.fn(async (spanMs: number) => telemetryView(spanMs)),
    exportIncidentReport: vi.fn(async (id: number, format) => `/data/reports/incident-${id}.${format}`),
    incidentDetail: vi.fn(async (id: number) => ({
      id,
      evidence: [{ at_ms: Date.now() - 300_000, kind: "logs", service: "db", text: "FATAL: the database system is shutting down" }],
      actions: timelineData(3_600_000).markers.filter((m) => m.incident_id === id),
    })),
    recentTransitions: vi.fn(async () => [
      {
        at_ms: 5000,
        change: { service: "web", from: "healthy" as const, to: "degraded" as const, reason: "all 1 probes failing" },
      },
    ]),
    verifyNow: vi.fn(async () => {}),
    verificationHistory: vi.fn(async () => []),
    verificationRun: vi.fn(async () => null),
    exportReport: vi.fn(async (format) => `/data/reports/stackwarden-report.${format}`),
    onVerifyStarted: vi.fn(on<VerifyStarted>("verify-started")),
    onVerifyProgress: vi.fn(on<CheckResult>("verify-progress")),
    onVerifyDone: vi.fn(on<VerificationRun>("verify-done")),
    onShowView: vi.fn(on<string>("show-view")),
    runtimeStatus: vi.fn(async () => ({
      recording: { kind: "on" as const, database: "/data/stackwarden.sqlite3" },
      problems: [],
      incidents: [],
      healing: NO_HEALING,
    })),
    releaseHeal: vi.fn(async () => {}),
    drillPlan: vi.fn(async (service: string) => ({
      service,
      container: `c-${service}`,
      data_on: [],
      healer: "this process",
      summary: `Kills container c-${service} of \`${service}\` with SIGKILL.`,
    })),
    runDrill: vi.fn(async (service: string) => storedDrill(service)),
    drills: vi.fn(async () => []),
    recoveryPlan: vi.fn(async () => recoveryPreview()),
    runRecovery: vi.fn(async (_id: number, confirmed: number[]) => {
      const emit = (p: Progress) => listeners.get("recovery-progress")?.forEach((h) => h(p));
      emit({ kind: "started", step: 1 });
      emit({ kind: "layer", step: 1, layer: "abc123", status: "Downloading", current: 1048576, total: 4194304 });
      emit({ kind: "done", step: 1, ms: 2100, note: "pulled localhost/db (1 layer(s), 4.0 MiB)" });
      if (confirmed.includes(2)) {
        emit({ kind: "backup", step: 2, file: "/data/backups/notes-srv-1.tar", bytes: 3072, sha256: "9bc7" });
        emit({ kind: "done", step: 2, ms: 600, note: "replaced" });
      } else {
        emit({ kind: "failed", step: 2, reason: "not confirmed", hint: "" });
      }
      return recoveryResult(confirmed.includes(2));
    }),
    recoveries: vi.fn(async () => []),
    onRecoveryProgress: vi.fn(on<Progress>("recovery-progress")),
    startEngine: vi.fn(async (command: string[]) => `started ${command.join(" ")} (pid 4242)`),
    onRuntimeStatus: vi.fn(on<RuntimeStatus>("runtime-status")),
    settingsGet: vi.fn(async () => settingsView()),
    settingsSave: vi.fn(async (settings: Settings) => ({ ...settingsView(), settings })),
    testConnection: vi.fn(async (endpoint: string) => `Connected: Podman Engine 4.3.1, API 1.41 (${endpoint})`),
    chooseStackFiles: vi.fn(async () => ["/home/me/ai/compose.yaml"]),
    setProbePassword: vi.fn(async () => {}),
    onSettingsChanged: vi.fn(on<SettingsView>("settings-changed")),
    emit: (s) => handler?.(s),
    emitHealth: (h) => healthHandler?.(h),
    emitEvent: (name, payload) => listeners.get(name)?.forEach((h) => h(payload)),
  };
}

/**
 * A timeline ending at 1,000,000 ms: db down for a while, one closed incident
 * during which the engine restarted db and a heal failed; a verification of
 * the whole stack after it.
 */
export function telemetryView(spanMs: number): TelemetryView {
  const now = 10_000_000;
  const minute = 60_000;
  const series = [0, 1, 2, 3].map((k) => ({
    minute_ms: now - (4 - k) * minute,
    events: 100 + k * 10,
    errors: k === 3 ? 40 : 2,
    p50_ms: 20 + k,
    p95_ms: 90 + k * 5,
  }));
  return {
    live: {
      files: [
        { file: "aidb-events.jsonl", path: "/home/u/t/aidb-events.jsonl", state: "following" },
        { file: "hybrid-events.jsonl", path: "/home/u/t/hybrid-events.jsonl", state: "file missing" },
      ],
      recent: [
        { line_no: 41, at_ms: now - 2000, service: "aidb", event: "tool_call", latency_ms: 12.5, failed: false },
        { line_no: 42, at_ms: now - 1000, service: "aidb", event: "query", latency_ms: null, failed: true },
      ],
      alerts: [{ service: "aidb", rule: "[ERROR_RATE] > 5% for 5m", holding: false, observed: "[ERROR_RATE] > 5% for 5m in each of the last 5 minutes: 0.02, no events" }],
      paused: null,
    },
    report: {
      since_ms: now - spanMs,
      now_ms: now,
      files: [
        {
          file: "aidb-events.jsonl",
          path: "/home/u/t/aidb-events.jsonl",
          events_total: 1234,
          malformed_total: 3,
          updated_ms: now - 1000,
          bad_lines: [{ line_no: 7, reason: "not JSON: expected value at line 1 column 1", excerpt: "<script>alert(1)</script>" }],
          events: 460,
          errors: 46,
        },
      ],
      totals: [{ service: "aidb", event: "tool_call", count: 460, errors: 46, error_rate: 0.1, p50_ms: 21, p95_ms: 95, p99_ms: 130 }],
      series,
      bursts: [{ file: "aidb-events.jsonl", path: "/home/u/t/aidb-events.jsonl", from_ms: now - minute, to_ms: now, peak_rate: 0.307, events: 130, errors: 40 }],
    },
    report_error: null,
  };
}

export function timelineData(spanMs: number): TimelineData {
  const to = 1_000_000;
  const from = to - spanMs;
  const restart: ActionEntry = {
    at_ms: to - 290_000,
    kind: "restart",
    source: "engine",
    action: "restart",
    service: "db",
    ok: true,
    result: "ai-db restarted by its restart policy (restart 2)",
    incident_id: 7,
  };
  const heal: ActionEntry = {
    at_ms: to - 250_000,
    kind: "heal",
    source: "healer",
    action: "start",
    service: "db",
    ok: false,
    result: "container ai-db did not start: port 5432 in use",
    incident_id: 7,
  };
  const verification: ActionEntry = {
    at_ms: to - 50_000,
    kind: "verification",
    source: "window",
    action: "verification",
    service: null,
    ok: true,
    result: "12 of 12 checks passed",
    incident_id: null,
  };
  return {
    from_ms: from,
    to_ms: to,
    lanes: [
      {
        service: "db",
        group: "Core",
        segments: [
          { from_ms: from, to_ms: to - 300_000, status: "healthy", reason: "all probes pass" },
          { from_ms: to - 300_000, to_ms: to - 200_000, status: "down", reason: "container exited (137)" },
          { from_ms: to - 200_000, to_ms: to - 100_000, status: null, reason: "Stackwarden was not watching" },
          { from_ms: to - 100_000, to_ms: to, status: "healthy", reason: "all probes pass" },
        ],
      },
    ],
    gaps: [{ from_ms: to - 200_000, to_ms: to - 100_000, reason: "Stackwarden was not watching" }],
    figures: [{ service: "db", availability: 0.9, mean_time_to_recovery_ms: 200_000 }],
    incidents: [
      {
        id: 7,
        incident: {
          key: 7,
          opened_at_ms: to - 300_000,
          closed_at_ms: to - 100_000,
          affected: [
            {
              service: "db",
              failed_at_ms: to - 300_000,
              worst: "down",
              status: "healthy",
              reason: "all probes pass",
              recovered_at_ms: to - 100_000,
              after: null,
            },
          ],
          cause: { service: "db", summary: "db down: container exited (137)" },
          engine_lost_at_ms: null,
          engine_back_at_ms: null,
          from_engine_events: false,
        },
      },
    ],
    markers: [restart, heal, verification],
    bursts: [{ file: "aidb-events.jsonl", path: "/home/u/t/aidb-events.jsonl", from_ms: to - 600_000, to_ms: to - 300_000, peak_rate: 0.4, events: 300, errors: 80 }],
  };
}

/** A preview: a pull, then a destructive replace (with its guard). */
export function recoveryPreview(over: Partial<RecoveryPreview> = {}): RecoveryPreview {
  return {
    id: 7,
    stack: "/srv/ai/compose.yaml",
    diagnosis: {
      taken_at_ms: 1000,
      engine: { reachable: true, endpoint: "unix:///run/podman/podman.sock", tried: [], podman: true },
      findings: [
        { severity: "loss", service: "qdrant", title: "volume qdrant is gone: its data is lost", evidence: "no volume named ai_qdrant", hint: "" },
        { severity: "problem", service: "db", title: "db: no container", evidence: "the engine has no container of service db", hint: "" },
        { severity: "note", service: null, title: "60 GB free for images and volumes", evidence: "on /var/lib/containers", hint: "" },
      ],
      services: [],
      missing_networks: [],
      missing_volumes: [],
      lost_volumes: [],
      project: "ai",
    },
    plan: {
      steps: [
        { id: 1, kind: "pull", service: "db", title: "pull image localhost/db", why: "db's image is not in local storage", expected_ms: 30000, loss: null, after: [], target: "localhost/db", command: [] },
        {
          id: 2,
          kind: "replace",
          service: "notes",
          title: "replace ai-notes-1 with a container of the stack file's image",
          why: "notes runs another image than the stack file names",
          expected_ms: 1000,
          loss: {
            summary: "1 change(s) ai-notes-1 made outside its volumes are lost with it",
            paths: ["A /srv/notes/today.txt"],
            backups: [{ container_id: "abc", path: "/srv" }],
          },
          after: [1],
          target: "ai-notes-1",
          command: [],
        },
      ],
      blockers: [],
      data_lost: [
        { severity: "loss", service: "qdrant", title: "volume qdrant is gone: its data is lost", evidence: "no volume named ai_qdrant", hint: "" },
      ],
      expected_ms: 31000,
    },
    before: {
      taken_at_ms: 1000,
      items: [
        { key: "postgres:db:document_embeddings", label: "document_embeddings rows", value: 12345, text: "12,345", rule: "equal", read_at_ms: 1000 },
      ],
    },
    ...over,
  };
}

export function recoveryResult(ok: boolean): Recovery {
  const p = recoveryPreview();
  return {
    started_ms: 1000,
    finished_ms: 4500,
    diagnosis: p.diagnosis,
    plan: p.plan,
    outcomes: [
      { step: 1, status: "done", ms: 2100, note: "pulled" },
      { step: 2, status: ok ? "done" : "failed", ms: 600, note: ok ? "replaced" : "not confirmed" },
    ],
    before: p.before,
    after: p.before,
    compared: [
      { key: "postgres:db:document_embeddings", label: "document_embeddings rows", before: "12,345", after: ok ? "12,345" : "12,000", verdict: ok ? "same" : "differs" },
    ],
    verification: null,
    ok,
    problems: ok ? [] : ["step 2 failed: not confirmed", "data differs: document_embeddings rows 12,345 before, 12,000 after"],
    incident_id: 3,
  };
}
