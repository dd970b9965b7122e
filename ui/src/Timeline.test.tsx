import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { figureText, markerClass, segmentClass, visibleWindow, zoomAt } from "./components/TimelinePanel";
import { fakeBackend, row, snapshot, timelineData } from "./test/fixtures";

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

async function openTimeline() {
  const backend = fakeBackend(snapshot([row({ name: "db" })]));
  render(<App backend={backend} />);
  fireEvent.click(await screen.findByTestId("nav-timeline"));
  const panel = await screen.findByTestId("timeline-panel");
  await within(panel).findByTestId("lane-db");
  return { backend, panel };
}

describe("the recovery timeline", () => {
  it("draws each service's lane, lists incidents and shows one's evidence", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-timeline"));
    const panel = await screen.findByTestId("timeline-panel");
    const lane = await within(panel).findByTestId("lane-db");
    const statuses = [...lane.querySelectorAll("rect")].map((r) => r.getAttribute("data-status"));
    expect(statuses).toEqual(["healthy", "down", "no-data", "healthy"]);
    // Hovering a segment says its status, when and why.
    fireEvent.mouseMove(lane.querySelectorAll("rect")[1]!);
    expect(within(panel).getByTestId("timeline-tip").textContent).toContain("db: down from");
    expect(within(panel).getByTestId("timeline-tip").textContent).toContain("container exited (137)");
    fireEvent.mouseLeave(within(panel).getByTestId("timeline-lanes").firstElementChild!);
    expect(within(panel).queryByTestId("timeline-tip")).toBeNull();
    expect(within(panel).getByTestId("figures-db").textContent).toBe("90.0 % · MTTR 3 min");
    const incident = within(panel).getByTestId("incident-7");
    expect(incident.textContent).toContain("closed");
    expect(incident.textContent).toContain("db down: container exited (137)");
    fireEvent.click(within(incident).getByRole("button"));
    // The evidence loads when the detail opens.
    await waitFor(() =>
      expect(within(panel).getByTestId("incident-detail-7").textContent).toContain("FATAL: the database system is shutting down"),
    );
    expect(backend.incidentDetail).toHaveBeenCalledWith(7);
    expect(backend.timeline).toHaveBeenLastCalledWith(24 * 3_600_000);
  });

  it("lists 50 incidents at first and the rest on demand", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    const base = timelineData(24 * 3_600_000);
    const one = base.incidents[0]!;
    backend.timeline = vi.fn(async () => ({
      ...base,
      incidents: Array.from({ length: 120 }, (_, k) => ({ ...one, id: k + 1, incident: { ...one.incident, key: k + 1 } })),
    }));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-timeline"));
    const list = await screen.findByTestId("incident-list");
    expect(list.querySelectorAll(":scope > li")).toHaveLength(50);
    fireEvent.click(screen.getByTestId("incidents-more"));
    expect(list.querySelectorAll(":scope > li")).toHaveLength(100);
    expect(screen.getByTestId("incidents-more").textContent).toBe("Show 20 more of 20 older");
  });

  it("changes range with the keyboard and by clicking", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-timeline"));
    const panel = await screen.findByTestId("timeline-panel");
    await act(async () => {
      fireEvent.keyDown(panel, { key: "3" });
    });
    expect(backend.timeline).toHaveBeenLastCalledWith(7 * 24 * 3_600_000);
    await act(async () => {
      fireEvent.click(screen.getByTestId("range-1h"));
    });
    expect(backend.timeline).toHaveBeenLastCalledWith(3_600_000);
  });

  it("zooms and pans within the range", () => {
    const data = { from_ms: 0, to_ms: 1000 };
    expect(visibleWindow(data, 1, 0)).toEqual({ from: 0, to: 1000 });
    expect(visibleWindow(data, 2, 0)).toEqual({ from: 500, to: 1000 });
    expect(visibleWindow(data, 2, 0.5)).toEqual({ from: 250, to: 750 });
    expect(visibleWindow(data, 2, 10)).toEqual({ from: 0, to: 500 });
    expect(segmentClass(null)).toBe("seg seg-no-data");
    expect(figureText({ service: "x", availability: null, mean_time_to_recovery_ms: null })).toBe("no data");
    expect(figureText({ service: "x", availability: 1, mean_time_to_recovery_ms: null })).toBe("100.0 %");
  });

  it("keeps the time under the cursor where it was while zooming", () => {
    const range = { from_ms: 0, to_ms: 1000 };
    const at = (nav: { zoom: number; pan: number }, f: number) => {
      const w = visibleWindow(range, nav.zoom, nav.pan);
      return w.from + f * (w.to - w.from);
    };
    let nav = { zoom: 1, pan: 0 };
    for (const [factor, f] of [
      [2, 0.3],
      [4, 0.8],
      [0.5, 0.1],
    ] as const) {
      const before = at(nav, f);
      nav = zoomAt(nav, factor, f);
      expect(at(nav, f)).toBeCloseTo(before, 6);
    }
    expect(zoomAt({ zoom: 64, pan: 3 }, 2, 0.5)).toEqual({ zoom: 64, pan: 3 });
    expect(zoomAt({ zoom: 2, pan: 1 }, 0.25, 0.5)).toEqual({ zoom: 1, pan: 0 });
    expect(markerClass({ kind: "heal", ok: false })).toBe("marker marker-heal marker-failed");
  });

  it("marks restarts, heals and verifications on the lanes, with the legend", async () => {
    const { panel } = await openTimeline();
    const hover = (el: Element) => {
      fireEvent.mouseMove(el);
      return within(panel).getByTestId("timeline-tip").textContent;
    };
    const restart = within(panel).getByTestId("marker-restart");
    expect(restart.getAttribute("class")).toBe("marker marker-restart");
    expect(hover(restart)).toMatch(/^restart by engine · db · .+: ai-db restarted by its restart policy \(restart 2\)$/);
    const heal = within(panel).getByTestId("marker-heal");
    expect(heal.getAttribute("class")).toBe("marker marker-heal marker-failed");
    expect(hover(heal)).toContain("heal (start) by healer · db");
    expect(hover(heal)).toContain("(failed)");
    // The whole stack's spans every lane; the one lane here is 22 high.
    const verification = within(panel).getByTestId("marker-verification");
    expect(verification.getAttribute("class")).toBe("marker marker-verification");
    expect([verification.getAttribute("y1"), verification.getAttribute("y2")]).toEqual(["0", "22"]);
    expect(hover(verification)).toContain("whole stack");
    expect(within(panel).getByTestId("marker-legend").textContent).toContain("restart by the engine");
  });

  it("zooms with the wheel around the cursor, pans by dragging and resets on double-click", async () => {
    const { panel } = await openTimeline();
    const lanes = within(panel).getByTestId("timeline-lanes");
    const range = (): [number, number] => [Number(lanes.getAttribute("data-from")), Number(lanes.getAttribute("data-to"))];
    const [from, to] = range();
    expect(to - from).toBe(24 * 3_600_000);
    const text = lanes.textContent;

    // The svg is 1230 wide in its own units, the time axis from 160 to 1060.
    vi.spyOn(Element.prototype, "getBoundingClientRect").mockReturnValue(new DOMRect(0, 0, 1230, 22));
    // Zoomed out all the way, the wheel outwards scrolls the page as usual.
    const out = new WheelEvent("wheel", { deltaY: 100, clientX: 400, bubbles: true, cancelable: true });
    act(() => {
      lanes.dispatchEvent(out);
    });
    expect(out.defaultPrevented).toBe(false);
    expect(lanes.getAttribute("data-zoom")).toBe("1");
    const wheel = new WheelEvent("wheel", { deltaY: -100, clientX: 160 + 900 * 0.25, bubbles: true, cancelable: true });
    act(() => {
      lanes.dispatchEvent(wheel);
    });
    expect(wheel.defaultPrevented).toBe(true);
    expect(lanes.getAttribute("data-zoom")).toBe("2");
    const [zFrom, zTo] = range();
    expect(zTo - zFrom).toBe(12 * 3_600_000);
    expect(zFrom + 0.25 * (zTo - zFrom)).toBeCloseTo(from + 0.25 * (to - from), 0);
    expect(lanes.textContent).not.toBe(text);

    // jsdom has no PointerEvent; React reads these fields from a MouseEvent.
    const drag = (x0: number, x1: number) =>
      act(() => {
        for (const [type, clientX] of [
          ["pointerdown", x0],
          ["pointermove", x1],
          ["pointerup", x1],
        ] as const) {
          lanes.dispatchEvent(new MouseEvent(type, { button: 0, clientX, bubbles: true }));
        }
      });
    // Dragging right by a fifth of the axis shows a fifth of a window earlier.
    drag(500, 500 + 900 * 0.2);
    expect(range()[0]).toBeCloseTo(zFrom - 0.2 * 12 * 3_600_000, -1);
    // Not past the start of the range.
    drag(100, 1000);
    expect(range()[0]).toBe(from);

    fireEvent.doubleClick(lanes);
    expect(lanes.getAttribute("data-zoom")).toBe("1");
    expect(range()).toEqual([from, to]);
    // The keyboard still zooms.
    fireEvent.keyDown(panel, { key: "]" });
    expect(lanes.getAttribute("data-zoom")).toBe("2");
  });

  it("lists an incident's actions and exports its report", async () => {
    const { backend, panel } = await openTimeline();
    // The list says how many, the detail which.
    expect(within(panel).getByTestId("incident-7").textContent).toContain("2 actions");
    fireEvent.click(within(within(panel).getByTestId("incident-7")).getByRole("button"));
    const actions = within(panel).getByTestId("incident-actions-7");
    await waitFor(() => expect(actions.querySelectorAll("li")).toHaveLength(2));
    const items = [...actions.querySelectorAll("li")].map((li) => li.textContent ?? "");
    expect(items[0]).toContain("engine");
    expect(items[0]).toContain("restart · db ✓ ai-db restarted by its restart policy (restart 2)");
    expect(items[1]).toContain("start · db ✗ container ai-db did not start: port 5432 in use");

    fireEvent.click(within(panel).getByTestId("export-incident-html-7"));
    expect(backend.exportIncidentReport).toHaveBeenCalledWith(7, "html");
    expect((await within(panel).findByTestId("export-incident-path-7")).textContent).toBe(
      "Saved to /data/reports/incident-7.html",
    );

    vi.mocked(backend.exportIncidentReport).mockRejectedValueOnce({ code: "io", message: "disk full" });
    fireEvent.click(within(panel).getByTestId("export-incident-md-7"));
    await waitFor(() => expect(within(panel).getByTestId("export-incident-path-7").textContent).toBe("Could not export: disk full"));
    expect(backend.exportIncidentReport).toHaveBeenLastCalledWith(7, "md");
  });

  it("says so when an incident had no action", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    vi.mocked(backend.incidentDetail).mockImplementation(async (id) => ({ id, evidence: [], actions: [] }));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-timeline"));
    fireEvent.click(within(await screen.findByTestId("incident-7")).getByRole("button"));
    await waitFor(() => expect(screen.getByTestId("incident-actions-7").textContent).toContain("No action recorded"));
  });

  it("measures the first paint of each range asked for", async () => {
    performance.clearMeasures();
    const { panel } = await openTimeline();
    await waitFor(() => expect(performance.getEntriesByName("timeline-paint-24h")).toHaveLength(1));
    await act(async () => {
      fireEvent.click(within(panel).getByTestId("range-1h"));
    });
    await waitFor(() => expect(performance.getEntriesByName("timeline-paint-1h")).toHaveLength(1));
    const [m] = performance.getEntriesByName("timeline-paint-1h");
    expect(m?.entryType).toBe("measure");
    expect(m?.duration).toBeGreaterThanOrEqual(0);
    expect(performance.getEntriesByName("timeline-paint-24h")).toHaveLength(1);
  });
});
