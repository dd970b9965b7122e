import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import type { CheckResult } from "./bindings/CheckResult";
import type { VerificationRun } from "./bindings/VerificationRun";
import { fakeBackend, row, snapshot, stackHealth } from "./test/fixtures";

afterEach(cleanup);

const result = (id: string, status: CheckResult["status"], evidence: string, hint = ""): CheckResult => ({
  id,
  name: `check ${id}`,
  service: null,
  required: true,
  status,
  duration_ms: 3.4,
  evidence,
  hint,
});

function run(results: CheckResult[]): VerificationRun {
  return {
    stack: "ai",
    started_at_ms: 1000,
    duration_ms: 18,
    results,
    passed: results.filter((r) => r.status === "pass").length,
    failed: results.filter((r) => r.status === "fail").length,
    skipped: 0,
    required_failed: results.filter((r) => r.status === "fail").length,
    services: [],
    breakdown: null,
    probe_runs: [],
  };
}

describe("Verify view", () => {
  it("shows live progress per check, then the run with evidence and hints", async () => {
    const backend = fakeBackend(snapshot([row({ name: "ai-web" })]), stackHealth());
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-verify"));
    fireEvent.click(await screen.findByTestId("verify-now"));
    expect(backend.verifyNow).toHaveBeenCalled();
    await act(async () =>
      backend.emitEvent("verify-started", {
        stack: "ai",
        checks: [
          { id: "engine", name: "Container engine reachable", required: true },
          { id: "telemetry", name: "Telemetry files", required: true },
        ],
      }),
    );
    expect(screen.getByTestId("check-status-engine").textContent).toBe("running…");
    expect(screen.getByTestId("verify-now").textContent).toBe("Verifying…");
    const engine = result("engine", "pass", "unix:///run/podman/podman.sock answered");
    await act(async () => backend.emitEvent("verify-progress", engine));
    expect(screen.getByTestId("check-status-engine").textContent).toBe("pass");
    expect(screen.getByTestId("check-status-telemetry").textContent).toBe("running…");
    expect(screen.getByTestId("verify-summary").textContent).toBe("1 of 2 checks done…");
    const telemetry = result("telemetry", "fail", "hybrid-events.jsonl: missing", "Check the telemetry folder");
    await act(async () => backend.emitEvent("verify-done", run([engine, telemetry])));
    const checkRow = screen.getByTestId("check-telemetry");
    expect(within(checkRow).getByTestId("check-status-telemetry").textContent).toBe("FAIL");
    expect(checkRow.textContent).toContain("hybrid-events.jsonl: missing");
    expect(checkRow.textContent).toContain("Fix: Check the telemetry folder");
    expect(screen.getByTestId("verify-summary").textContent).toContain("1 passed, 1 failed (1 required)");
    expect(screen.getByTestId("header-verified").textContent).toMatch(/^✗ verified .*: 1\/2$/);
    // The header and the view load it at start; the view again after the run.
    expect(backend.verificationHistory).toHaveBeenCalledTimes(3);
  });

  it("exports the report and says where it went", async () => {
    const backend = fakeBackend(snapshot([]), stackHealth());
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-verify"));
    fireEvent.click(screen.getByTestId("export-html"));
    expect((await screen.findByTestId("export-result")).textContent).toBe(
      "Report saved to /data/reports/stackwarden-report.html",
    );
  });

  it("says why Verify now was refused, and the tray can open the view", async () => {
    const backend = fakeBackend(snapshot([]), stackHealth());
    backend.verifyNow = vi.fn(async () => {
      throw { code: "action_refused", message: "A verification is already running." };
    });
    render(<App backend={backend} />);
    await screen.findByTestId("nav-verify");
    await act(async () => backend.emitEvent("show-view", "verify"));
    fireEvent.click(await screen.findByTestId("verify-now"));
    expect((await screen.findByRole("alert")).textContent).toBe("A verification is already running.");
  });

  it("opening the view shows the last stored run", async () => {
    const backend = fakeBackend(snapshot([]), stackHealth());
    backend.verificationHistory = vi.fn(async () => [
      { id: 7, stack: "ai", started_at_ms: 1000, duration_ms: 18, passed: 1, failed: 0, skipped: 0, required_failed: 0 },
    ]);
    backend.verificationRun = vi.fn(async () => run([result("engine", "pass", "answered")]));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-verify"));
    expect((await screen.findByTestId("check-status-engine")).textContent).toBe("pass");
    expect(backend.verificationRun).toHaveBeenCalledWith(7);
    expect(screen.getByTestId("verify-history").textContent).toContain("1 passed, 0 failed");
    expect(screen.getByTestId("header-verified").textContent).toMatch(/^✓ verified .*: 1\/1$/);
  });
});
