import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import { membership, missingServices } from "./health";
import { fakeBackend, row, snapshot, stackHealth } from "./test/fixtures";

afterEach(cleanup);

const rows = () => snapshot([row({ name: "ai-web" }), row({ name: "ai-db" }), row({ name: "other" })]);

describe("stack health in the window", () => {
  it("joins containers to stack services and lists services with no container", () => {
    const h = stackHealth();
    expect([...membership(h).keys()]).toEqual(["ai-web", "ai-db"]);
    expect(missingServices(h).map((s) => s.service)).toEqual(["ghost"]);
  });

  it("marks stack members in the table and lists the missing service", async () => {
    render(<App backend={fakeBackend(rows(), stackHealth())} />);
    const member = await screen.findByTestId("stack-ai-web");
    expect(member.textContent).toContain("ai · Core");
    expect(member.textContent).toContain("healthy");
    expect(screen.queryByTestId("stack-other")).toBeNull();
    const missing = screen.getByTestId("missing-ghost");
    expect(missing.textContent).toContain("ai-ghost");
    expect(missing.textContent).toContain("no container");
    expect(screen.getByTestId("header-score").textContent).toContain("ai: 75% healthy");
  });

  it("shows group scores, the formula and why a service fails", async () => {
    const backend = fakeBackend(rows(), stackHealth("degraded"));
    render(<App backend={backend} />);
    fireEvent.click(await screen.findByTestId("nav-health"));
    const panel = await screen.findByTestId("health-panel");
    expect(within(panel).getByTestId("group-score-Core").textContent).toContain("Core 75% (1/2)");
    expect(within(panel).getByTestId("group-score-Extras").textContent).toContain("Extras 0% (0/1)");
    expect(within(panel).getByTestId("health-overall").textContent).toBe("56%");
    expect(within(panel).getByTestId("health-formula").textContent).toContain("overall =");
    expect(within(panel).getByTestId("service-status-web").textContent).toBe("degraded");
    fireEvent.click(within(panel).getByRole("button", { name: /web/ }));
    const probes = await screen.findByTestId("probes-web");
    expect(probes.textContent).toContain("[BODY].status == ok");
    expect(probes.textContent).toContain('saw "degraded"');
    await waitFor(() => expect(within(probes).getByRole("img", { name: "Response time of health" })).toBeTruthy());
    expect(backend.probeHistory).toHaveBeenCalledWith("web");
    expect((await screen.findByTestId("transitions")).textContent).toContain("web healthy → degraded");
  });

  it("follows health events and shows a broken stack file", async () => {
    const backend = fakeBackend(rows(), stackHealth());
    render(<App backend={backend} />);
    await screen.findByTestId("header-score");
    const broken = { ...stackHealth("down"), stack_error: "compose.yaml, line 4, column 3: unknown service" };
    await act(async () => backend.emitHealth(broken));
    expect(screen.getByTestId("stack-error").textContent).toContain("line 4, column 3");
    expect(screen.getByTestId("header-score").textContent).toContain("38% healthy");
  });

  it("the service detail shows the probe conditions of a stack member", async () => {
    render(<App backend={fakeBackend(rows(), stackHealth("degraded"))} />);
    fireEvent.click(await screen.findByRole("button", { name: "Logs of ai-web" }));
    const detail = await screen.findByTestId("detail");
    expect(within(detail).getByTestId("probes-web").textContent).toContain("[STATUS] == 200");
  });
});
