// Joins the stack's health with the engine's rows: which stack service a
// container is, and which stack services have no container. Pure functions.
import type { ServiceHealth } from "./bindings/ServiceHealth";
import type { StackHealth } from "./bindings/StackHealth";
import type { StackServiceView } from "./bindings/StackServiceView";

export interface Membership {
  stack: string;
  service: StackServiceView;
  health: ServiceHealth | null;
}

/** Container name → its stack service, for containers the stack names. */
export function membership(health: StackHealth | null): Map<string, Membership> {
  return membershipOf(health?.stack_name ?? null, health?.services ?? [], health?.breakdown?.services ?? []);
}

/** `membership` from only the parts of the health it reads. */
export function membershipOf(
  stack: string | null,
  services: readonly StackServiceView[],
  statuses: readonly ServiceHealth[],
): Map<string, Membership> {
  const out = new Map<string, Membership>();
  if (!stack) return out;
  for (const service of services) {
    if (!service.has_container) continue;
    out.set(service.container, {
      stack,
      service,
      health: statuses.find((s) => s.service === service.service) ?? null,
    });
  }
  return out;
}

/** Stack services the engine has no container for. */
export function missingServices(health: StackHealth | null): StackServiceView[] {
  return missingOf(health?.services ?? []);
}

export function missingOf(services: readonly StackServiceView[]): StackServiceView[] {
  return services.filter((s) => !s.has_container);
}

/** The newest run of each of a service's probes. */
export function runsOf(health: StackHealth | null, service: string) {
  return health?.last_runs.filter((r) => r.service === service) ?? [];
}

export function percentScore(score: number): string {
  return `${Math.round(score)}%`;
}
