import { afterEach, describe, expect, it } from "vitest";
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";

afterEach(cleanup);
import { HealingPanel, policyText } from "./components/HealingPanel";
import { fakeBackend, snapshot, storedDrill } from "./test/fixtures";
import type { HealingStatus } from "./bindings/HealingStatus";
import type { HealPolicy } from "./bindings/HealPolicy";

const policy: HealPolicy = {
  enabled: true,
  on: ["down", "unhealthy"],
  after_ms: 0,
  degraded_after_ms: 300_000,
  start_grace_ms: 30_000,
  action: "restart",
  backoff: { initial_ms: 10_000, factor: 2, cap_ms: 300_000, reset_after_ms: 600_000 },
  limit: { actions: 3, within_ms: 1_800_000 },
  engine_grace_ms: 15_000,
  log_patterns: [{ pattern: "FATAL", effect: "unhealthy" }],
};

const healing: HealingStatus = {
  active: true,
  paused: null,
  services: [
    { service: "db", policy, state: "quarantined", detail: "3 action(s) within 30 min did not keep it healthy", recent_actions: 3, next_at_ms: null },
    { service: "web", policy, state: "watching", detail: "healthy; acts on down, unhealthy", recent_actions: 0, next_at_ms: null },
    { service: "tool", policy: null, state: "off", detail: "no heal policy", recent_actions: 0, next_at_ms: null },
  ],
};

describe("HealingPanel", () => {
  it("says each policy in one line", () => {
    expect(policyText(policy)).toBe(
      "down, unhealthy · restart · backoff 10 s ×2 to 5 min · at most 3 in 30 min · 1 log pattern",
    );
    expect(policyText(null)).toBe("no policy");
    expect(policyText({ ...policy, enabled: false })).toBe("off");
  });

  it("shows the quarantine and releases it", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<HealingPanel backend={backend} healing={healing} />);
    const db = screen.getByTestId("healing-table").querySelector('[data-service="db"]') as HTMLElement;
    expect(within(db).getByTestId("heal-state").textContent).toBe("quarantined: needs you");
    expect(within(db).queryByTestId("heal-drill")).toBeNull();
    fireEvent.click(within(db).getByTestId("heal-release"));
    await waitFor(() => expect(backend.releaseHeal).toHaveBeenCalledWith("db"));
    expect((await screen.findByTestId("healing-said")).textContent).toContain("db released");
    const tool = screen.getByTestId("healing-table").querySelector('[data-service="tool"]') as HTMLElement;
    expect(within(tool).queryByRole("button")).toBeNull();
  });

  it("asks before a drill, runs it, and lists the result", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<HealingPanel backend={backend} healing={healing} />);
    const web = screen.getByTestId("healing-table").querySelector('[data-service="web"]') as HTMLElement;
    fireEvent.click(within(web).getByTestId("heal-drill"));
    const dialog = await screen.findByTestId("drill-confirm");
    expect(dialog.textContent).toContain("kill c-web");
    expect(backend.runDrill).not.toHaveBeenCalled();
    expect(document.activeElement).toBe(screen.getByTestId("drill-run"));
    backend.drills = async () => [storedDrill("web")];
    await act(async () => fireEvent.click(screen.getByTestId("drill-run")));
    expect(backend.runDrill).toHaveBeenCalledWith("web");
    const table = await screen.findByTestId("drills");
    expect(table.textContent).toContain("0.3 s");
    expect(table.textContent).toContain("1.2 s");
    expect(screen.getByTestId("healing-said").textContent).toContain("healed");
  });

  it("shows a refusal with its reason and kills nothing", async () => {
    const backend = fakeBackend(snapshot([]));
    backend.drillPlan = async () => {
      throw { code: "action_refused", message: "drill refused: `db` keeps data, and its container has no volume" };
    };
    render(<HealingPanel backend={backend} healing={{ ...healing, services: [healing.services[1]!] }} />);
    fireEvent.click(screen.getByTestId("heal-drill"));
    expect((await screen.findByTestId("healing-error")).textContent).toContain("no volume");
    expect(screen.queryByTestId("drill-confirm")).toBeNull();
    expect(backend.runDrill).not.toHaveBeenCalled();
  });

  it("says when another process heals", () => {
    render(<HealingPanel backend={fakeBackend(snapshot([]))} healing={{ active: false, paused: "another Stackwarden process watches", services: [] }} />);
    expect(screen.getByTestId("healing-paused").textContent).toContain("another Stackwarden process");
  });
});
