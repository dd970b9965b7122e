import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { App, applyTheme } from "./App";
import { chosenPaths } from "./api";
import { SettingsPanel } from "./components/SettingsPanel";
import { needsPassword, ProbeResults } from "./components/ProbeResults";
import { fakeBackend, settingsView, snapshot } from "./test/fixtures";

afterEach(() => {
  cleanup();
  delete document.documentElement.dataset.theme;
});

describe("SettingsPanel", () => {
  it("saves exactly what was changed, from the keyboard too", async () => {
    const backend = fakeBackend(snapshot([]));
    render(<SettingsPanel backend={backend} />);
    const interval = await screen.findByTestId("settings-interval");
    expect((screen.getByTestId("settings-save") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(interval, { target: { value: "5000" } });
    fireEvent.click(screen.getByTestId("settings-notify-engine"));
    fireEvent.change(screen.getByTestId("settings-theme"), { target: { value: "dark" } });
    fireEvent.click(screen.getByTestId("settings-autostart"));
    fireEvent.submit(screen.getByTestId("settings"));
    await waitFor(() => expect(backend.settingsSave).toHaveBeenCalledTimes(1));
    const saved = vi.mocked(backend.settingsSave).mock.calls[0]?.[0];
    expect(saved).toEqual({
      ...settingsView().settings,
      refresh_interval_ms: 5000,
      notifications: { incidents: true, quarantine: true, verification: true, engine: false },
      theme: "dark",
      autostart: true,
    });
    expect((await screen.findByTestId("settings-saved")).textContent).toContain(
      "Saved to /home/me/.config/stackwarden/config.toml",
    );
  });

  it("shows why a value was refused and keeps the form", async () => {
    const backend = fakeBackend(snapshot([]));
    vi.mocked(backend.settingsSave).mockRejectedValueOnce({
      code: "invalid_setting",
      message: "Retention: must be between 1 and 8760 hours",
    });
    render(<SettingsPanel backend={backend} />);
    fireEvent.change(await screen.findByTestId("settings-retention"), { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("settings-save"));
    expect((await screen.findByTestId("settings-error")).textContent).toBe("Retention: must be between 1 and 8760 hours");
    expect((screen.getByTestId("settings-retention") as HTMLInputElement).value).toBe("0");
  });

  it("adds files from the dialog or a typed path, and tests an endpoint", async () => {
    const backend = fakeBackend(snapshot([]));
    vi.mocked(backend.settingsGet).mockResolvedValueOnce(settingsView({ stack_files: [] }));
    render(<SettingsPanel backend={backend} />);
    expect((await screen.findByTestId("settings-builtin")).textContent).toContain("built-in AI stack");
    fireEvent.click(screen.getByTestId("settings-browse"));
    await screen.findByText("/home/me/ai/compose.yaml");
    fireEvent.change(screen.getByTestId("settings-stack-path"), { target: { value: "/srv/gpu.yaml" } });
    fireEvent.click(screen.getByTestId("settings-add-path"));
    expect(screen.getByTestId("settings-stack-files").textContent).toContain("/srv/gpu.yaml");
    fireEvent.change(screen.getByTestId("settings-endpoint"), { target: { value: "tcp://127.0.0.1:2375" } });
    fireEvent.click(screen.getByTestId("settings-test-connection"));
    expect((await screen.findByTestId("settings-connection")).textContent).toContain("Connected: Podman Engine 4.3.1");
    expect(backend.testConnection).toHaveBeenCalledWith("tcp://127.0.0.1:2375");
  });

  it("reads the dialog's answer in each of its shapes", () => {
    expect(chosenPaths(null)).toBeNull();
    expect(chosenPaths("/a.yaml")).toEqual(["/a.yaml"]);
    expect(chosenPaths(["/a.yaml", 3, "/b.yml"])).toEqual(["/a.yaml", "/b.yml"]);
  });
});

describe("themes", () => {
  it("a fixed theme is set on the page and System follows the desktop", async () => {
    applyTheme("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    const listeners: (() => void)[] = [];
    const desktop = { matches: true, addEventListener: (_: string, f: () => void) => listeners.push(f), removeEventListener: vi.fn() };
    window.matchMedia = vi.fn(() => desktop) as unknown as typeof window.matchMedia;
    applyTheme("system");
    expect(document.documentElement.dataset.theme).toBe("dark");
    desktop.matches = false;
    listeners.forEach((f) => f());
    expect(document.documentElement.dataset.theme).toBe("light");
    const backend = fakeBackend(snapshot([]));
    render(<App backend={backend} />);
    await waitFor(() => expect(backend.onSettingsChanged).toHaveBeenCalled());
    backend.emitEvent("settings-changed", settingsView({ theme: "light" }));
    expect(document.documentElement.dataset.theme).toBe("light");
  });
});

describe("a database probe without its password", () => {
  const missing =
    "password missing: POSTGRES_PASSWORD is not set in Stackwarden's environment and no password is kept for this database in the desktop's keyring (Set password… in the Health view)";

  it("offers to keep one in the keyring and never shows it", async () => {
    expect(needsPassword(missing)).toBe(true);
    expect(needsPassword("password authentication failed")).toBe(false);
    const backend = fakeBackend(snapshot([]));
    const service = {
      service: "postgres",
      group: "core",
      probes: [{ name: "schema", kind: "postgres", target: "postgres://mcp@127.0.0.1:5432/mcp", interval_ms: 5000, timeout_ms: 2000 }],
    };
    const run = {
      service: "postgres",
      at_ms: 1,
      duration_ms: 1,
      outcome: { probe: "schema", success: false, conditions: [], error: missing },
    };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    render(<ProbeResults backend={backend} service={service as any} runs={[run as any]} />);
    fireEvent.click(screen.getByTestId("set-password-postgres-schema"));
    const input = screen.getByTestId("password-input-postgres-schema") as HTMLInputElement;
    expect(input.type).toBe("password");
    fireEvent.change(input, { target: { value: "s3cret" } });
    fireEvent.click(screen.getByTestId("password-save-postgres-schema"));
    await waitFor(() => expect(backend.setProbePassword).toHaveBeenCalledWith("postgres", "schema", "s3cret"));
    expect((await screen.findByRole("status")).textContent).toContain("Kept in the desktop keyring");
    expect(document.body.textContent).not.toContain("s3cret");
  });
});
