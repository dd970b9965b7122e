// The window renders only what changed: a `snapshot` or `health` event
// re-renders the rows or services whose shown values differ, an event with
// equal data re-renders nothing, and time passing re-renders only the
// uptime cells whose text changes.
import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import type { ServiceRow } from "./bindings/ServiceRow";
import { renderCounts, resetRenderCounts } from "./renderCount";
import { fakeBackend, row, snapshot, stackHealth } from "./test/fixtures";

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

/** 50 running containers, started two hours ago, each with a resource sample. */
function fifty(cpuOf: (i: number) => number = () => 1.5, sampledAt = T0): ServiceRow[] {
  return Array.from({ length: 50 }, (_, i) =>
    row({
      name: `svc-${String(i).padStart(2, "0")}`,
      project: i < 25 ? "alpha" : "beta",
      started_at_ms: T0 - 2 * HOUR,
      ports: [{ host_ip: "127.0.0.1", host_port: 20000 + i, container_port: 80, protocol: "tcp" }],
      usage: { cpu_percent: cpuOf(i), memory_used_bytes: 50_000_000, memory_limit_bytes: 1e9, sampled_at_ms: sampledAt },
    }),
  );
}

/** Renders counted for names starting with `prefix`. */
function counted(prefix: string): Record<string, number> {
  return Object.fromEntries(Object.entries(renderCounts()).filter(([k]) => k.startsWith(prefix)));
}

async function settle() {
  await act(async () => {});
  await act(async () => {});
}

describe("Services view renders only what changed", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    vi.setSystemTime(T0);
  });

  it("a new resource sample leaves the filter field's attributes alone", async () => {
    const backend = fakeBackend(snapshot(fifty(), { updated_at_ms: T0 }), stackHealth());
    render(<App backend={backend} />);
    await settle();
    const filter = screen.getByTestId("filter");
    const changed: string[] = [];
    const observer = new MutationObserver((records) => records.forEach((r) => changed.push(r.attributeName ?? "")));
    observer.observe(filter, { attributes: true });

    await act(async () => backend.emit(snapshot(fifty(() => 7.5, T0 + 2000), { updated_at_ms: T0 + 2000 })));
    await settle();
    observer.disconnect();
    expect(screen.getAllByText("7.5%")).toHaveLength(50);
    expect(changed).toEqual([]);
  });

  it("a snapshot where one row's CPU changed re-renders that row only", async () => {
    const backend = fakeBackend(snapshot(fifty(), { updated_at_ms: T0 }), stackHealth());
    render(<App backend={backend} />);
    await settle();
    expect(screen.getByTestId("row-count").textContent).toBe("50 of 50 containers");
    expect(Object.keys(counted("Row:"))).toHaveLength(50);
    resetRenderCounts();

    // Every row is a new object and every sample is newer, as from the Rust side.
    const next = fifty((i) => (i === 17 ? 42.0 : 1.5), T0 + 2000);
    await act(async () => backend.emit(snapshot(next, { updated_at_ms: T0 + 2000 })));

    expect(counted("Row:")).toEqual({ "Row:svc-17": 1 });
    expect(counted("Uptime:")).toEqual({});
    expect(screen.getByTestId("row-svc-17").textContent).toContain("42.0%");
  });

  it("a snapshot or health event with equal data re-renders nothing", async () => {
    const backend = fakeBackend(snapshot(fifty(), { updated_at_ms: T0 }), stackHealth());
    render(<App backend={backend} />);
    await settle();
    resetRenderCounts();
    await act(async () => backend.emit(snapshot(fifty(), { updated_at_ms: T0 + 2000 })));
    await act(async () => backend.emitHealth({ ...stackHealth(), updated_at_ms: T0 + 2000 }));
    expect(renderCounts()).toEqual({});
    // Newer samples that read the same (1.5 %, 50.0MB) leave the table alone too.
    const resampled = fifty((i) => (i === 3 ? 1.52 : 1.5), T0 + 4000);
    await act(async () => backend.emit(snapshot(resampled, { updated_at_ms: T0 + 4000 })));
    expect(renderCounts()).toEqual({});
  });

  it("the clock re-renders only the uptime cells whose text changes", async () => {
    const young = row({ name: "young", started_at_ms: T0 - 30_000 });
    const backend = fakeBackend(snapshot([...fifty(), young], { updated_at_ms: T0 }), stackHealth());
    render(<App backend={backend} />);
    await settle();
    expect(screen.getByTestId("uptime-young").textContent).toBe("30s");
    expect(screen.getByTestId("uptime-svc-00").textContent).toBe("2h0m");
    resetRenderCounts();

    await act(async () => vi.advanceTimersByTime(1000));
    expect(screen.getByTestId("uptime-young").textContent).toBe("31s");
    expect(renderCounts()).toEqual({ "Uptime:young": 1 });

    resetRenderCounts();
    for (let s = 0; s < 60; s++) await act(async () => vi.advanceTimersByTime(1000));
    expect(screen.getByTestId("uptime-young").textContent).toBe("1m");
    expect(screen.getByTestId("uptime-svc-00").textContent).toBe("2h1m");
    expect(counted("Row:")).toEqual({});
    expect(counted("ServiceTable")).toEqual({});
    // Each old row's text changed once in that minute; the young one's at
    // every second from 32 s to 59 s, then at 1 m, then not again.
    const uptime = counted("Uptime:");
    expect(Object.keys(uptime)).toHaveLength(51);
    expect(uptime["Uptime:svc-00"]).toBe(1);
    expect(uptime["Uptime:young"]).toBe(29);
  });
});

describe("Health view renders only what changed", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"] });
    vi.setSystemTime(T0);
  });

  const rows = () => snapshot([row({ name: "ai-web" }), row({ name: "ai-db" }), row({ name: "other" })], { updated_at_ms: T0 });

  async function openHealth(backend: ReturnType<typeof fakeBackend>) {
    render(<App backend={backend} />);
    await settle();
    fireEvent.click(screen.getByTestId("nav-health"));
    await settle();
    expect(screen.getByTestId("service-status-web").textContent).toBe("healthy");
    expect(counted("HealthService:")).toHaveProperty("HealthService:web");
    resetRenderCounts();
  }

  it("an unchanged health event or snapshot re-renders nothing, nor does time passing", async () => {
    const backend = fakeBackend(rows(), stackHealth());
    await openHealth(backend);
    await act(async () => backend.emitHealth({ ...stackHealth(), updated_at_ms: T0 + 5000 }));
    await act(async () => backend.emit({ ...rows(), updated_at_ms: T0 + 2000 }));
    await act(async () => vi.advanceTimersByTime(10_000));
    expect(renderCounts()).toEqual({});
  });

  it("a health event where one service's status changed re-renders that service only", async () => {
    const backend = fakeBackend(rows(), stackHealth());
    await openHealth(backend);
    await act(async () => backend.emitHealth({ ...stackHealth("degraded"), updated_at_ms: T0 + 5000 }));
    await settle();
    expect(screen.getByTestId("service-status-web").textContent).toBe("degraded");
    expect(counted("HealthService:")).toEqual({ "HealthService:web": 1 });
  });

  it("a new probe run of a collapsed service re-renders no service", async () => {
    const backend = fakeBackend(rows(), stackHealth());
    await openHealth(backend);
    const h = stackHealth();
    const later = { ...h, last_runs: h.last_runs.map((r) => ({ ...r, at_ms: T0 + 5000, duration_ms: 11 })), updated_at_ms: T0 + 5000 };
    await act(async () => backend.emitHealth(later));
    await settle();
    expect(counted("HealthService:")).toEqual({});
  });
});
