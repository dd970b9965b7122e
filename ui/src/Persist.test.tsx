// Closing the window to the tray destroys it and Open creates a new one: it
// must come back at the view (and open detail) it showed.
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import { fakeBackend, row, snapshot, stackHealth } from "./test/fixtures";

const rows = () => snapshot([row({ name: "ai-web" }), row({ name: "ai-db" }), row({ name: "other" })]);

/** The window closed to the tray and opened again: a new page, same storage. */
async function reopen() {
  cleanup();
  const backend = fakeBackend(rows(), stackHealth());
  render(<App backend={backend} />);
  await act(async () => {});
  return backend;
}

afterEach(() => window.history.replaceState(null, "", "/"));

describe("the window comes back as it was", () => {
  it("at the view it showed", async () => {
    render(<App backend={fakeBackend(rows(), stackHealth())} />);
    fireEvent.click(await screen.findByTestId("nav-health"));
    await screen.findByTestId("health-panel");
    await reopen();
    expect(await screen.findByTestId("health-panel")).toBeTruthy();
    expect(screen.getByTestId("nav-health").getAttribute("aria-current")).toBe("page");
  });

  it("with the service detail it had open, and without one it had closed", async () => {
    render(<App backend={fakeBackend(rows(), stackHealth())} />);
    fireEvent.click(await screen.findByRole("button", { name: "Logs of other" }));
    await screen.findByTestId("detail");
    let backend = await reopen();
    expect((await screen.findByTestId("detail")).getAttribute("aria-label")).toBe("Details of other");
    await waitFor(() => expect(backend.openLogs).toHaveBeenCalledWith("id-other"));
    fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("detail")).toBeNull());
    backend = await reopen();
    await screen.findByTestId("row-other");
    expect(screen.queryByTestId("detail")).toBeNull();
    expect(backend.openLogs).not.toHaveBeenCalled();
  });

  it("with the health service it had open", async () => {
    render(<App backend={fakeBackend(rows(), stackHealth())} />);
    fireEvent.click(await screen.findByTestId("nav-health"));
    fireEvent.click(await screen.findByRole("button", { name: /web/ }));
    await screen.findByTestId("probes-web");
    await reopen();
    expect(await screen.findByTestId("probes-web")).toBeTruthy();
    expect(screen.getByRole("button", { name: /web/ }).getAttribute("aria-expanded")).toBe("true");
  });

  it("show-view from the Rust side still switches views, over the stored one", async () => {
    render(<App backend={fakeBackend(rows(), stackHealth())} />);
    fireEvent.click(await screen.findByTestId("nav-health"));
    const backend = await reopen();
    await screen.findByTestId("health-panel");
    await act(async () => backend.emitEvent("show-view", "verify"));
    expect(screen.getByTestId("verify-panel")).toBeTruthy();
    await act(async () => backend.emitEvent("show-view", "services"));
    expect(screen.getByTestId("service-table")).toBeTruthy();
    await act(async () => backend.emitEvent("show-view", "no-such-view"));
    expect(screen.getByTestId("service-table")).toBeTruthy();
    await reopen();
    expect(await screen.findByTestId("service-table")).toBeTruthy();
  });

  it("a view asked for in the window's URL wins, and stored garbage is ignored", async () => {
    window.localStorage.setItem("stackwarden.view", '"bogus"');
    window.localStorage.setItem("stackwarden.detail", "{not json");
    render(<App backend={fakeBackend(rows(), stackHealth())} />);
    expect(await screen.findByTestId("service-table")).toBeTruthy();
    expect(screen.queryByTestId("detail")).toBeNull();
    window.history.replaceState(null, "", "/?view=verify");
    await reopen();
    expect(await screen.findByTestId("verify-panel")).toBeTruthy();
  });
});
