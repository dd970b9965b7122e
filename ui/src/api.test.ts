import { beforeEach, describe, expect, it, vi } from "vitest";

const openUrl = vi.fn();
vi.mock("@tauri-apps/plugin-opener", () => ({ openUrl }));

const { tauriBackend } = await import("./api");

describe("tauriBackend.openUrl", () => {
  beforeEach(() => {
    openUrl.mockReset();
  });

  it("opens through the opener plugin", async () => {
    openUrl.mockResolvedValue(undefined);
    await tauriBackend.openUrl("http://127.0.0.1:18080");
    expect(openUrl).toHaveBeenCalledWith("http://127.0.0.1:18080");
  });

  it("hands the plugin's refusal to the caller", async () => {
    openUrl.mockRejectedValue("Not allowed to open url http://10.0.0.5:80");
    await expect(tauriBackend.openUrl("http://10.0.0.5:80")).rejects.toBe("Not allowed to open url http://10.0.0.5:80");
  });
});
