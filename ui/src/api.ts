// The window's only way to the Rust side: typed wrappers around the app's
// commands and events. Components receive a `Backend`, so tests can hand them
// a fake one without a Tauri window.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { openUrl as openInBrowser } from "@tauri-apps/plugin-opener";
import { Command } from "@tauri-apps/plugin-shell";
import type { AppInfo } from "./bindings/AppInfo";
import type { ContainerAction } from "./bindings/ContainerAction";
import type { ContainerId } from "./bindings/ContainerId";
import type { HistoryPoint } from "./bindings/HistoryPoint";
import type { LogBatch } from "./bindings/LogBatch";
import type { CheckResult } from "./bindings/CheckResult";
import type { RecordedTransition } from "./bindings/RecordedTransition";
import type { IncidentDetail } from "./bindings/IncidentDetail";
import type { TimelineData } from "./bindings/TimelineData";
import type { TelemetryView } from "./bindings/TelemetryView";
import type { ReportFormat } from "./bindings/ReportFormat";
import type { ResponsePoint } from "./bindings/ResponsePoint";
import type { VerificationRun } from "./bindings/VerificationRun";
import type { VerificationSummary } from "./bindings/VerificationSummary";
import type { VerifyStarted } from "./bindings/VerifyStarted";
import type { StackHealth } from "./bindings/StackHealth";
import type { StackSnapshot } from "./bindings/StackSnapshot";
import type { RuntimeStatus } from "./bindings/RuntimeStatus";
import type { UiError } from "./bindings/UiError";
import type { DrillPlan } from "./bindings/DrillPlan";
import type { StoredDrill } from "./bindings/StoredDrill";
import type { RecoveryPreview } from "./bindings/RecoveryPreview";
import type { Recovery } from "./bindings/Recovery";
import type { Progress } from "./bindings/Progress";
import type { Settings } from "./bindings/Settings";
import type { SettingsView } from "./bindings/SettingsView";

export type Unlisten = () => void;

export interface Backend {
  getSnapshot(): Promise<StackSnapshot>;
  appInfo(): Promise<AppInfo>;
  containerAction(id: ContainerId, action: ContainerAction): Promise<void>;
  openLogs(id: ContainerId): Promise<void>;
  closeLogs(): Promise<void>;
  serviceHistory(name: string): Promise<HistoryPoint[]>;
  setViewVisible(visible: boolean): Promise<void>;
  retryEngine(): Promise<void>;
  /** Opens a URL in the default browser; rejects with why it could not. */
  openUrl(url: string): Promise<void>;
  onSnapshot(handler: (s: StackSnapshot) => void): Promise<Unlisten>;
  onLogs(handler: (b: LogBatch) => void): Promise<Unlisten>;
  getHealth(): Promise<StackHealth>;
  probeHistory(service: string): Promise<ResponsePoint[]>;
  onHealth(handler: (h: StackHealth) => void): Promise<Unlisten>;
  verifyNow(): Promise<void>;
  verificationHistory(): Promise<VerificationSummary[]>;
  verificationRun(id: number): Promise<VerificationRun | null>;
  exportReport(format: ReportFormat): Promise<string>;
  onVerifyStarted(handler: (s: VerifyStarted) => void): Promise<Unlisten>;
  onVerifyProgress(handler: (r: CheckResult) => void): Promise<Unlisten>;
  onVerifyDone(handler: (r: VerificationRun) => void): Promise<Unlisten>;
  onShowView(handler: (view: string) => void): Promise<Unlisten>;
  recentTransitions(): Promise<RecordedTransition[]>;
  /** Lanes, gaps and incidents of the last `spanMs`. */
  timeline(spanMs: number): Promise<TimelineData>;
  /** The telemetry of the last `spanMs`: files, aggregates, bursts, the last events. */
  telemetry(spanMs: number): Promise<TelemetryView>;
  /** Writes one incident's report; resolves with the file's path. */
  exportIncidentReport(id: number, format: ReportFormat): Promise<string>;
  incidentDetail(id: number): Promise<IncidentDetail>;
  /** Whether this app records, and parts of it that had to be restarted. */
  runtimeStatus(): Promise<RuntimeStatus>;
  onRuntimeStatus(handler: (s: RuntimeStatus) => void): Promise<Unlisten>;
  /** Lets the healer act on a quarantined service again. */
  releaseHeal(service: string): Promise<void>;
  /** What a drill of `service` would do; rejects with why it is refused. */
  drillPlan(service: string): Promise<DrillPlan>;
  /** Kills `service`'s container and measures how it is healed. */
  runDrill(service: string): Promise<StoredDrill>;
  drills(): Promise<StoredDrill[]>;
  /** Diagnoses the stack and plans its recovery; nothing runs. */
  recoveryPlan(): Promise<RecoveryPreview>;
  /** Runs plan `id`; destructive steps only when in `confirmed`. */
  runRecovery(id: number, confirmed: number[]): Promise<Recovery>;
  recoveries(): Promise<Recovery[]>;
  onRecoveryProgress(handler: (p: Progress) => void): Promise<Unlisten>;
  /**
   * Starts the engine with the plan's command, through the shell plugin's
   * scope (exactly `podman system service --time=0 unix:///…/podman.sock`
   * or `systemctl --user start podman.socket`); resolves with what happened.
   */
  startEngine(command: string[]): Promise<string>;
  settingsGet(): Promise<SettingsView>;
  /** Checks, writes config.toml (comments kept) and applies; rejects with why a value was refused. */
  settingsSave(settings: Settings): Promise<SettingsView>;
  /** Connects to an engine endpoint; resolves with what answered. */
  testConnection(endpoint: string): Promise<string>;
  /** The system's open dialog for compose files; null when cancelled. */
  chooseStackFiles(): Promise<string[] | null>;
  /** Keeps a database probe's password in the desktop keyring. */
  setProbePassword(service: string, probe: string, password: string): Promise<void>;
  onSettingsChanged(handler: (v: SettingsView) => void): Promise<Unlisten>;
}

/** The dialog plugin's answer as a list (one path, several, or none). */
export function chosenPaths(picked: unknown): string[] | null {
  if (picked === null || picked === undefined) return null;
  const list = Array.isArray(picked) ? picked : [picked];
  return list.filter((p): p is string => typeof p === "string");
}

/** The engine start as the shell scope names it, or null when it is not one of the two. */
export function engineStart(command: string[]): { name: string; args: string[] } | null {
  const [program, ...args] = command;
  if (program === "systemctl" && args.join(" ") === "--user start podman.socket") {
    return { name: "podman-socket", args };
  }
  if (program === "podman" && args.length === 4 && args.slice(0, 3).join(" ") === "system service --time=0") {
    return { name: "podman-service", args };
  }
  return null;
}

/**
 * Both starts are spawned (the scope grants spawn only). `systemctl` is
 * waited for; the socket unit it starts outlives the app. `podman system
 * service` keeps running as the app's child: it stops when the app quits
 * (systemd's podman.socket is the lasting way).
 */
async function startEngineThroughShell(command: string[]): Promise<string> {
  const start = engineStart(command);
  if (!start) throw { code: "action_refused", message: `not an engine start: ${command.join(" ")}` };
  const cmd = Command.create(start.name, start.args);
  if (start.name === "podman-socket") {
    let stderr = "";
    cmd.stderr.on("data", (line) => (stderr += `${line}\n`));
    const code = await new Promise<number | null>((resolve, reject) => {
      cmd.on("close", (data) => resolve(data.code));
      cmd.on("error", (e) => reject({ code: "action_refused", message: String(e) }));
      cmd.spawn().catch((e) => reject({ code: "action_refused", message: String(e) }));
    });
    if (code !== 0) throw { code: "action_refused", message: `systemctl --user start podman.socket failed: ${stderr.trim()}` };
    return "podman.socket started with systemctl --user";
  }
  const child = await cmd.spawn();
  return `started ${command.join(" ")} (pid ${child.pid}); it runs while Stackwarden runs`;
}

/** Turns whatever a command rejected with into a `UiError`. */
export function asUiError(e: unknown): UiError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    return e as UiError;
  }
  return { code: "engine_lost", message: String(e) };
}

export const tauriBackend: Backend = {
  getSnapshot: () => invoke<StackSnapshot>("get_snapshot"),
  appInfo: () => invoke<AppInfo>("app_info"),
  containerAction: (id, action) => invoke<void>("container_action", { id, action }),
  openLogs: (id) => invoke<void>("open_logs", { id }),
  closeLogs: () => invoke<void>("close_logs"),
  serviceHistory: (name) => invoke<HistoryPoint[]>("service_history", { name }),
  setViewVisible: (visible) => invoke<void>("set_view_visible", { visible }),
  retryEngine: () => invoke<void>("retry_engine"),
  openUrl: (url) => openInBrowser(url),
  onSnapshot: (handler) => listen<StackSnapshot>("snapshot", (e) => handler(e.payload)),
  onLogs: (handler) => listen<LogBatch>("logs", (e) => handler(e.payload)),
  getHealth: () => invoke<StackHealth>("get_health"),
  probeHistory: (service) => invoke<ResponsePoint[]>("probe_history", { service }),
  onHealth: (handler) => listen<StackHealth>("health", (e) => handler(e.payload)),
  verifyNow: () => invoke<void>("verify_now"),
  verificationHistory: () => invoke<VerificationSummary[]>("verification_history"),
  verificationRun: (id) => invoke<VerificationRun | null>("verification_run", { id }),
  exportReport: (format) => invoke<string>("export_report", { format }),
  onVerifyStarted: (handler) => listen<VerifyStarted>("verify-started", (e) => handler(e.payload)),
  onVerifyProgress: (handler) => listen<CheckResult>("verify-progress", (e) => handler(e.payload)),
  onVerifyDone: (handler) => listen<VerificationRun>("verify-done", (e) => handler(e.payload)),
  onShowView: (handler) => listen<string>("show-view", (e) => handler(e.payload)),
  recentTransitions: () => invoke<RecordedTransition[]>("recent_transitions"),
  timeline: (spanMs) => invoke<TimelineData>("timeline", { spanMs }),
  telemetry: (spanMs) => invoke<TelemetryView>("telemetry", { spanMs }),
  exportIncidentReport: (id, format) => invoke<string>("export_incident_report", { id, format }),
  incidentDetail: (id) => invoke<IncidentDetail>("incident_detail", { id }),
  runtimeStatus: () => invoke<RuntimeStatus>("runtime_status"),
  releaseHeal: (service) => invoke<void>("release_heal", { service }),
  drillPlan: (service) => invoke<DrillPlan>("drill_plan", { service }),
  runDrill: (service) => invoke<StoredDrill>("run_drill", { service }),
  drills: () => invoke<StoredDrill[]>("drills"),
  recoveryPlan: () => invoke<RecoveryPreview>("recovery_plan"),
  runRecovery: (id, confirmed) => invoke<Recovery>("run_recovery", { id, confirmed }),
  recoveries: () => invoke<Recovery[]>("recoveries"),
  onRecoveryProgress: (handler) => listen<Progress>("recovery-progress", (e) => handler(e.payload)),
  startEngine: (command) => startEngineThroughShell(command),
  onRuntimeStatus: (handler) => listen<RuntimeStatus>("runtime-status", (e) => handler(e.payload)),
  settingsGet: () => invoke<SettingsView>("settings_get"),
  settingsSave: (settings) => invoke<SettingsView>("settings_save", { settings }),
  testConnection: (endpoint) => invoke<string>("test_connection", { endpoint }),
  chooseStackFiles: () =>
    invoke<unknown>("plugin:dialog|open", {
      options: {
        title: "Choose the stack's compose files",
        multiple: true,
        directory: false,
        filters: [{ name: "Compose files", extensions: ["yaml", "yml"] }],
      },
    }).then(chosenPaths),
  setProbePassword: (service, probe, password) => invoke<void>("set_probe_password", { service, probe, password }),
  onSettingsChanged: (handler) => listen<SettingsView>("settings-changed", (e) => handler(e.payload)),
};
