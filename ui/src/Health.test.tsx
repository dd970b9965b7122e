import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { App } from "./App";
import { groupRows } from "./components/ServiceTable";
import { membership, missingServices, notDeployedOf } from "./health";
import { fakeBackend, row, snapshot, stackHealth } from "./test/fixtures";
import type { StackHealth } from "./bindings/StackHealth";

/** The fixture stack with web run as three replicas and ghost not deployed. */
function replicatedAndNotDeployed(): StackHealth {
  const h = stackHealth();
  const web = h.services.find((s) => s.service === "web");
  if (web) web.containers = ["ai-web-1", "ai-web-2", "ai-web-3"];
  const ghost = h.breakdown?.services.find((s) => s.service === "ghost");
  if (ghost) {
    ghost.status = "not_deployed";
    ghost.reason = "not deployed: profile `extras` is not active";
  }
  const extras = h.breakdown?.groups.find((g) => g.group === "Extras");
  if (extras) {
    extras.total = 0;
    extras.not_deployed = 1;
  }
  return h;
}

afterEach(cleanup);

const rows = () => snapshot([row({ name: "ai-web" }), row({ name: "ai-db" }), row({ name: "other" })]);

describe("stack health in the window", () => {
  it("joins containers to stack services and lists services with no container", () => {
    const h = stackHealth();
    expect([...membership(h).keys()]).toEqual(["ai-web", "ai-db"]);
    expect(missingServices(h).map((s) => s.service)).toEqual(["ghost"]);
  });

  it("counts every replica as the service's and lists services not deployed apart", async () => {
    const h = replicatedAndNotDeployed();
    expect([...membership(h).keys()]).toEqual(["ai-web-1", "ai-web-2", "ai-web-3", "ai-db"]);
    expect(missingServices(h)).toEqual([]);
    expect(notDeployedOf(h.services, h.breakdown?.services ?? []).map((s) => s.service)).toEqual(["ghost"]);
    const rows = snapshot([row({ name: "ai-web-1" }), row({ name: "ai-web-2" }), row({ name: "ai-db" })]);
    render(<App backend={fakeBackend(rows, h)} />);
    const absent = await screen.findByTestId("not-deployed-ghost");
    expect(absent.textContent).toContain("profile `extras` is not active");
    expect(screen.queryByTestId("missing-ghost")).toBeNull();
    expect(screen.getByTestId("stack-ai-web-2").textContent).toContain("ai · Core");
    fireEvent.click(screen.getByTestId("nav-health"));
    const panel = await screen.findByTestId("health-panel");
    expect(within(panel).getByTestId("group-score-Extras").textContent).toContain("Extras not deployed");
    expect(within(panel).getByRole("button", { name: /web/ }).parentElement?.textContent).toContain("3 containers (ai-web-1, …)");
  });

  it("groups the stack's containers first, then other projects, then the rest", () => {
    const rows = [
      row({ name: "zz-web-1", project: "zz" }),
      row({ name: "lab_db_1", project: "lab" }),
      row({ name: "named-by-container-name" }),
      row({ name: "loose" }),
      row({ name: "aa-x-1", project: "aa" }),
    ];
    const groups = groupRows(rows, { name: "My lab", project: "lab" }, (r) => r.name === "named-by-container-name");
    expect(groups.map((g) => [g.testId, g.label, g.rows.map((r) => r.name)])).toEqual([
      ["group-stack", "Stack My lab (project lab)", ["lab_db_1", "named-by-container-name"]],
      ["group-aa", "Project aa", ["aa-x-1"]],
      ["group-zz", "Project zz", ["zz-web-1"]],
      ["group-none", "No compose project", ["loose"]],
    ]);
    expect(groupRows(rows, null, () => false).map((g) => g.testId)).toEqual(["group-aa", "group-lab", "group-zz", "group-none"]);
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
