import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { NO_HEALING, fakeBackend, row, snapshot } from "./test/fixtures";

afterEach(cleanup);

const stack = () =>
  snapshot([
    row({ name: "sw-ok-web", project: "sw-ok", ports: [{ host_ip: "127.0.0.1", host_port: 18080, container_port: 8080, protocol: "tcp" }] }),
    row({ name: "sw-mixed-exits", project: "sw-mixed", state: "exited", exit_code: 3, started_at_ms: null }),
    row({ name: "loose", project: null }),
  ]);

describe("App", () => {
  it("shows the rows grouped by project and reports visibility", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    await screen.findByTestId("row-sw-ok-web");
    expect(screen.getByTestId("group-sw-ok")).toBeTruthy();
    expect(screen.getByTestId("group-none")).toBeTruthy();
    expect(screen.getByTestId("state-sw-mixed-exits").textContent).toBe("exited (3)");
    expect(backend.setViewVisible).toHaveBeenCalledWith(true);
  });

  it("runs an action with progress and says how it ended", async () => {
    const backend = fakeBackend(stack());
    let finish: () => void = () => {};
    backend.containerAction = vi.fn(() => new Promise<void>((resolve) => (finish = resolve)));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByRole("button", { name: "Stop sw-ok-web" }));
    expect(screen.getByTestId("state-sw-ok-web").textContent).toBe("Stopping…");
    expect(backend.containerAction).toHaveBeenCalledWith("id-sw-ok-web", "stop");
    await act(async () => finish());
    expect(screen.getByTestId("action-outcome").textContent).toContain("Stopped sw-ok-web.");
  });

  it("shows why an action failed", async () => {
    const backend = fakeBackend(stack());
    backend.containerAction = vi.fn(async () => {
      throw { code: "container_gone", message: "container id-sw-ok-web no longer exists" };
    });
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByRole("button", { name: "Restart sw-ok-web" }));
    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toContain("Could not restart sw-ok-web: container id-sw-ok-web no longer exists");
  });

  it("says when a part of the watch had to be restarted", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    await screen.findByTestId("row-sw-ok-web");
    expect(screen.queryByTestId("task-problems")).toBeNull();
    act(() =>
      backend.emitEvent("runtime-status", {
        recording: { kind: "on", database: "/data/stackwarden.sqlite3" },
        problems: [{ task: "probe scheduler", reason: "panicked: boom", restarts: 2, at_ms: 1 }],
        incidents: [],
        healing: NO_HEALING,
      }),
    );
    const banner = await screen.findByTestId("task-problems");
    expect(banner.textContent).toContain("probe scheduler panicked: boom (restarted 2 times)");
    act(() =>
      backend.emitEvent("runtime-status", {
        recording: { kind: "on", database: "/data/stackwarden.sqlite3" },
        problems: [],
        incidents: [],
        healing: NO_HEALING,
      }),
    );
    await waitFor(() => expect(screen.queryByTestId("task-problems")).toBeNull());
  });

  it("says when an incident is open, and drops that when it closes", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    await screen.findByTestId("row-sw-ok-web");
    expect(screen.queryByTestId("incident-open")).toBeNull();
    const incident = {
      key: 1,
      opened_at_ms: 0,
      closed_at_ms: null,
      affected: [],
      cause: { service: "postgres", summary: "postgres down: container exited (137)" },
      engine_lost_at_ms: null,
      engine_back_at_ms: null,
      from_engine_events: false,
    };
    const on = { kind: "on" as const, database: "/data/stackwarden.sqlite3" };
    act(() => backend.emitEvent("runtime-status", { recording: on, problems: [], incidents: [incident, { ...incident, key: 2 }], healing: NO_HEALING }));
    const banner = await screen.findByTestId("incident-open");
    expect(banner.textContent).toContain("postgres down: container exited (137) (and 1 more)");
    act(() => backend.emitEvent("runtime-status", { recording: on, problems: [], incidents: [], healing: NO_HEALING }));
    await waitFor(() => expect(screen.queryByTestId("incident-open")).toBeNull());
  });

  it("says who records instead, and drops that when it takes over", async () => {
    const backend = fakeBackend(stack());
    backend.runtimeStatus = vi.fn(async () => ({
      recording: { kind: "held_by" as const, holder: { pid: 4242, since_ms: 0, host: "stackwarden watch" } },
      problems: [],
      incidents: [],
      healing: NO_HEALING,
    }));
    render(<App backend={backend} />);
    const banner = await screen.findByTestId("history-off");
    expect(banner.textContent).toContain("stackwarden watch (PID 4242)");
    act(() =>
      backend.emitEvent("runtime-status", {
        recording: { kind: "on", database: "/data/stackwarden.sqlite3" },
        problems: [],
        incidents: [],
        healing: NO_HEALING,
      }),
    );
    await waitFor(() => expect(screen.queryByTestId("history-off")).toBeNull());
  });

  it("filters and follows new snapshots", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    fireEvent.change(await screen.findByTestId("filter"), { target: { value: "mixed" } });
    expect(screen.queryByTestId("row-sw-ok-web")).toBeNull();
    expect(screen.getByTestId("row-count").textContent).toBe("1 of 3 containers");
    act(() => backend.emit(snapshot([row({ name: "sw-mixed-exits", project: "sw-mixed" })])));
    await waitFor(() => expect(screen.getByTestId("state-sw-mixed-exits").textContent).toBe("running"));
  });

  it("explains an unreachable engine and offers a retry", async () => {
    const backend = fakeBackend(
      snapshot([], {
        engine: {
          kind: "unreachable",
          attempts: [{ endpoint: "unix:///run/podman/podman.sock", source: "rootful Podman", error: "no socket at /run/podman/podman.sock" }],
          hint: "Start Podman's API service",
          retry_in_ms: 2000,
        },
        config_error: "config file /x.toml, line 2, column 1: unknown field `endpiont`",
      }),
    );
    render(<App backend={backend} />);
    const problem = await screen.findByTestId("engine-problem");
    expect(within(problem).getByText("no socket at /run/podman/podman.sock")).toBeTruthy();
    expect(screen.getByTestId("config-error").textContent).toContain("line 2");
    fireEvent.click(within(problem).getByRole("button", { name: "Retry now" }));
    expect(backend.retryEngine).toHaveBeenCalled();
  });

  it("opens details with logs and closes them with Escape", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByRole("button", { name: "Logs of sw-ok-web" }));
    await screen.findByTestId("detail");
    await waitFor(() => expect(backend.openLogs).toHaveBeenCalledWith("id-sw-ok-web"));
    fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("detail")).toBeNull());
    expect(backend.closeLogs).toHaveBeenCalled();
  });

  it("moves the keyboard into the detail and back to the Logs button that opened it", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    const logs = await screen.findByRole("button", { name: "Logs of sw-ok-web" });
    logs.focus();
    fireEvent.click(logs);
    await screen.findByTestId("detail");
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Close details" }));
    fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("detail")).toBeNull());
    expect(document.activeElement).toBe(logs);
  });

  it("opens published ports in the browser", async () => {
    const backend = fakeBackend(stack());
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByRole("button", { name: "18080→8080/tcp" }));
    expect(backend.openUrl).toHaveBeenCalledWith("http://127.0.0.1:18080");
    await act(async () => {});
    expect(screen.queryByTestId("port-error-sw-ok-web")).toBeNull();
  });

  it("says next to the port why it could not be opened, until dismissed", async () => {
    const backend = fakeBackend(stack());
    backend.openUrl = vi.fn(async (url: string) => {
      // What the opener plugin rejects with when its scope refuses the URL.
      throw `Not allowed to open url ${url}`;
    });
    render(<App backend={backend} />);
    const port = await screen.findByRole("button", { name: "18080→8080/tcp" });
    fireEvent.click(port);
    const message = await screen.findByTestId("port-error-sw-ok-web");
    expect(within(message).getByRole("alert").textContent).toContain(
      "Could not open http://127.0.0.1:18080 in the browser: Not allowed to open url http://127.0.0.1:18080",
    );
    // Right under the row whose port failed.
    expect(screen.getByTestId("row-sw-ok-web").nextElementSibling).toBe(message);
    fireEvent.click(within(message).getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByTestId("port-error-sw-ok-web")).toBeNull();
    expect(document.activeElement).toBe(port);

    // Escape on the message dismisses it too, and leaves an open detail alone.
    fireEvent.click(screen.getByRole("button", { name: "Logs of sw-ok-web" }));
    await screen.findByTestId("detail");
    fireEvent.click(port);
    const again = await screen.findByTestId("port-error-sw-ok-web");
    const dismiss = within(again).getByRole("button", { name: "Dismiss" });
    dismiss.focus();
    fireEvent.keyDown(dismiss, { key: "Escape" });
    expect(screen.queryByTestId("port-error-sw-ok-web")).toBeNull();
    expect(document.activeElement).toBe(port);
    expect(screen.getByTestId("detail")).toBeTruthy();
  });
});
