import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { App, recoveryReason } from "./App";
import { engineStart } from "./api";
import { applyProgress, RecoveryPanel } from "./components/RecoveryPanel";
import { fakeBackend, recoveryPreview, snapshot } from "./test/fixtures";

afterEach(cleanup);

describe("RecoveryPanel", () => {
  it("shows data lost first, the plan with its guard, and nothing runs before Run", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<RecoveryPanel backend={backend} />);
    fireEvent.click(screen.getByTestId("recovery-diagnose"));
    const lost = await screen.findByTestId("recovery-data-lost");
    expect(lost.textContent).toContain("volume qdrant is gone: its data is lost");
    // The loss is said before the plan.
    const plan = screen.getByTestId("recovery-plan");
    expect(lost.compareDocumentPosition(plan) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    const guard = screen.getByTestId("guard-2");
    expect(guard.textContent).toContain("A /srv/notes/today.txt");
    expect(guard.textContent).toContain("/srv");
    expect(guard.textContent).toContain("Not accepted: the plan stops at this step.");
    expect(screen.getByTestId("recovery-data-now").textContent).toContain("12,345");
    expect(backend.runRecovery).not.toHaveBeenCalled();
    expect(screen.getByTestId("recovery-run").textContent).toBe("Run 2 steps");
  });

  it("runs without the destructive step unless it is accepted on its own", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<RecoveryPanel backend={backend} />);
    fireEvent.click(screen.getByTestId("recovery-diagnose"));
    fireEvent.click(await screen.findByTestId("recovery-run"));
    await waitFor(() => expect(backend.runRecovery).toHaveBeenCalledWith(7, []));
    const verdict = await screen.findByTestId("recovery-verdict");
    expect(verdict.textContent).toContain("Not recovered");
    const row = screen.getByTestId("recovery-compared").querySelector('[data-key="postgres:db:document_embeddings"]')!;
    expect(row.className).toBe("verdict-differs");
    expect(row.textContent).toContain("DIFFERS");
  });

  it("passes the accepted step, shows layers, backups and exports the report", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<RecoveryPanel backend={backend} />);
    fireEvent.click(screen.getByTestId("recovery-diagnose"));
    fireEvent.click(await screen.findByTestId("guard-accept-2"));
    fireEvent.click(screen.getByTestId("recovery-run"));
    await waitFor(() => expect(backend.runRecovery).toHaveBeenCalledWith(7, [2]));
    expect((await screen.findByTestId("recovery-verdict")).textContent).toContain("Recovered in 3.5 s");
    const layers = screen.getByTestId("layers-1");
    expect(layers.textContent).toContain("abc123 Downloading");
    expect(layers.textContent).toContain("1.0 MiB / 4.0 MiB");
    expect(screen.getByTestId("recovery-plan").textContent).toContain("Backup: /data/backups/notes-srv-1.tar (3.0 KiB, sha256 9bc7)");
    fireEvent.click(screen.getByTestId("recovery-export"));
    await waitFor(() => expect(backend.exportIncidentReport).toHaveBeenCalledWith(3, "html"));
  });

  it("offers to start the engine with the plan's command, then plans again", async () => {
    const backend = fakeBackend(snapshot([]));
    const start = {
      id: 1, kind: "start_engine" as const, service: null, title: "start the container engine",
      why: "no engine answers", expected_ms: 2000, loss: null, after: [], target: "engine",
      command: ["podman", "system", "service", "--time=0", "unix:///run/podman/podman.sock"],
    };
    backend.recoveryPlan = vi.fn(async () =>
      recoveryPreview({ plan: { steps: [start], blockers: [], data_lost: [], expected_ms: 2000 } }),
    );
    render(<RecoveryPanel backend={backend} />);
    fireEvent.click(screen.getByTestId("recovery-diagnose"));
    fireEvent.click(await screen.findByTestId("recovery-start-engine"));
    await waitFor(() => expect(backend.startEngine).toHaveBeenCalledWith(start.command));
    await waitFor(() => expect(backend.retryEngine).toHaveBeenCalled());
    expect((await screen.findByTestId("recovery-said")).textContent).toContain("pid 4242");
  });

  it("Escape cancels the plan", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<RecoveryPanel backend={backend} />);
    fireEvent.click(screen.getByTestId("recovery-diagnose"));
    const run = await screen.findByTestId("recovery-run");
    fireEvent.keyDown(run, { key: "Escape" });
    expect(screen.queryByTestId("recovery-plan")).toBeNull();
    expect(screen.getByTestId("recovery-diagnose")).toBeTruthy();
  });

  it("folds progress events, keeping the last lines only", () => {
    let steps = applyProgress({}, { kind: "started", step: 4 });
    for (let i = 0; i < 250; i++) steps = applyProgress(steps, { kind: "line", step: 4, text: `line ${i}` });
    steps = applyProgress(steps, { kind: "failed", step: 4, reason: "exited with code 1", hint: "see the output" });
    expect(steps[4]!.state).toBe("failed");
    expect(steps[4]!.lines.length).toBe(200);
    expect(steps[4]!.lines[199]).toBe("line 249");
    expect(steps[4]!.note).toBe("exited with code 1. see the output");
  });
});

describe("the way in", () => {
  it("says why recovery is offered", () => {
    expect(recoveryReason({ kind: "unreachable", attempts: [], hint: "", retry_in_ms: 1000 }, null, false)).toContain("No container engine");
    expect(recoveryReason(null, "failing", false)).toContain("stack is down");
    expect(recoveryReason(null, "healthy", true)).toContain("incident is open");
    expect(recoveryReason(null, "healthy", false)).toBeNull();
  });

  it("maps only the two engine starts to the shell scope", () => {
    expect(engineStart(["systemctl", "--user", "start", "podman.socket"])?.name).toBe("podman-socket");
    expect(engineStart(["podman", "system", "service", "--time=0", "unix:///run/podman/podman.sock"])?.name).toBe("podman-service");
    expect(engineStart(["podman", "system", "reset"])).toBeNull();
    expect(engineStart(["sh", "-c", "podman system service"])).toBeNull();
  });

  it("the banner opens the wizard", async () => {
    const backend = fakeBackend(snapshot([], { engine: { kind: "unreachable", attempts: [], hint: "start podman", retry_in_ms: 1000 } }));
    render(<App backend={backend} />);
    const banner = await screen.findByTestId("recover-banner");
    fireEvent.click(within(banner).getByTestId("recover-open"));
    expect(await screen.findByTestId("recovery-diagnose")).toBeTruthy();
    expect(screen.queryByTestId("recover-banner")).toBeNull();
  });
});
