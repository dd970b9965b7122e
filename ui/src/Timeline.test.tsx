import { act, cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import { figureText, segmentClass, visibleWindow } from "./components/TimelinePanel";
import { fakeBackend, row, snapshot } from "./test/fixtures";

afterEach(cleanup);

describe("the recovery timeline", () => {
  it("draws each service's lane, lists incidents and shows one's evidence", async () => {
    const backend = fakeBackend(snapshot([row({ name: "db" })]));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-timeline"));
    const panel = await screen.findByTestId("timeline-panel");
    const lane = await within(panel).findByTestId("lane-db");
    const statuses = [...lane.querySelectorAll("rect")].map((r) => r.getAttribute("data-status"));
    expect(statuses).toEqual(["healthy", "down", "no-data", "healthy"]);
    expect(lane.querySelectorAll("rect title")[1]?.textContent).toContain("db: down from");
    expect(lane.querySelectorAll("rect title")[1]?.textContent).toContain("container exited (137)");
    expect(within(panel).getByTestId("figures-db").textContent).toBe("90.0 % · MTTR 3 min");
    const incident = within(panel).getByTestId("incident-7");
    expect(incident.textContent).toContain("closed");
    expect(incident.textContent).toContain("db down: container exited (137)");
    fireEvent.click(within(incident).getByRole("button"));
    expect(within(panel).getByTestId("incident-detail-7").textContent).toContain("FATAL: the database system is shutting down");
    expect(backend.timeline).toHaveBeenLastCalledWith(24 * 3_600_000);
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
});
