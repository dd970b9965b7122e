import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { chartPath, millis, percent } from "./components/TelemetryPanel";
import { fakeBackend, row, snapshot } from "./test/fixtures";

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

async function openTelemetry() {
  const backend = fakeBackend(snapshot([row({ name: "db" })]));
  render(<App backend={backend} />);
  fireEvent.click(await screen.findByTestId("nav-telemetry"));
  const panel = await screen.findByTestId("telemetry-panel");
  await within(panel).findByTestId("telemetry-files");
  return { backend, panel };
}

describe("the Telemetry view", () => {
  it("shows each file with its state and malformed count, charts, totals, alerts and the last events", async () => {
    const { backend, panel } = await openTelemetry();
    const aidb = within(panel).getByTestId("telemetry-file-aidb-events.jsonl");
    expect(aidb.textContent).toContain("following");
    expect(aidb.textContent).toContain("10.0 %");
    expect(within(panel).getByTestId("malformed-aidb-events.jsonl").textContent).toBe("3");
    expect(within(panel).getByTestId("telemetry-file-hybrid-events.jsonl").textContent).toContain("file missing");
    for (const chart of ["events", "errors", "latency"]) {
      const paths = within(panel).getByTestId(`chart-${chart}`).querySelectorAll("path");
      expect(paths.length).toBeGreaterThan(0);
      expect(paths[0]!.getAttribute("d")).toMatch(/^M/);
    }
    expect(within(panel).getByTestId("telemetry-totals").textContent).toContain("tool_call");
    expect(within(panel).getByTestId("telemetry-alerts").textContent).toContain("calm");
    expect(within(panel).getByTestId("telemetry-burst-list").textContent).toContain("40 of 130 events failed");
    const recent = within(panel).getByTestId("telemetry-recent");
    expect(recent.querySelectorAll("li")[0]!.textContent).toContain("failed");
    expect(backend.telemetry).toHaveBeenLastCalledWith(3_600_000);
  });

  it("shows bad lines as text on demand", async () => {
    const { panel } = await openTelemetry();
    fireEvent.click(within(panel).getByRole("button", { name: "Bad lines…" }));
    const list = within(panel).getByTestId("bad-lines-aidb-events.jsonl");
    expect(list.textContent).toContain("line 7");
    expect(list.textContent).toContain("<script>alert(1)</script>");
    expect(list.querySelector("script")).toBeNull();
  });

  it("picks a range with a key or a button", async () => {
    const { backend, panel } = await openTelemetry();
    fireEvent.keyDown(panel, { key: "2" });
    await waitFor(() => expect(backend.telemetry).toHaveBeenLastCalledWith(24 * 3_600_000));
    fireEvent.click(within(panel).getByTestId("telemetry-range-7d"));
    await waitFor(() => expect(backend.telemetry).toHaveBeenLastCalledWith(7 * 24 * 3_600_000));
  });

  it("says why there is no history", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    const base = await backend.telemetry(3_600_000);
    backend.telemetry = vi.fn(async () => ({ ...base, report: null, report_error: "no data folder" }));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-telemetry"));
    const panel = await screen.findByTestId("telemetry-panel");
    expect((await within(panel).findByText(/History is unavailable/)).textContent).toContain("no data folder");
  });

  it("formats and draws safely", () => {
    expect(percent(1, 0)).toBe("–");
    expect(percent(1, 8)).toBe("12.5 %");
    expect(millis(null)).toBe("–");
    expect(millis(3.14)).toBe("3.1 ms");
    const p = [
      { minute_ms: 0, events: 1, errors: 0, p50_ms: null, p95_ms: 5 },
      { minute_ms: 60_000, events: 2, errors: 0, p50_ms: 4, p95_ms: null },
    ];
    expect(chartPath(p, (x) => x.p50_ms, 0, 60_000, 4)).toBe("M600.0,3.0");
    expect(chartPath(p, (x) => x.events, 0, 60_000, 2)).toMatch(/^M0\.0,.* L600\.0,3\.0$/);
  });
});

describe("error bursts on the timeline", () => {
  it("draw as a telemetry row that says what burst", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-timeline"));
    const panel = await screen.findByTestId("timeline-panel");
    const row_ = await within(panel).findByTestId("telemetry-bursts");
    const rect = row_.querySelector("rect")!;
    fireEvent.mouseMove(rect);
    expect(within(panel).getByTestId("timeline-tip").textContent).toContain("aidb-events.jsonl: errors burst for 5 min, 80 of 300 events failed (peak 40%)");
  });
});
