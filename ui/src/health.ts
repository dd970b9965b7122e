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
    const health = statuses.find((s) => s.service === service.service) ?? null;
    // Every replica of the service is one of its containers.
    const names = service.containers.length > 0 ? service.containers : [service.container];
    for (const name of names) out.set(name, { stack, service, health });
  }
  return out;
}

/** Stack services the engine has no container for, which should have one. */
export function missingServices(health: StackHealth | null): StackServiceView[] {
  return missingOf(health?.services ?? [], health?.breakdown?.services ?? []);
}

function isNotDeployed(service: StackServiceView, statuses: readonly ServiceHealth[]): boolean {
  return statuses.some((s) => s.service === service.service && s.status === "not_deployed");
}

export function missingOf(services: readonly StackServiceView[], statuses: readonly ServiceHealth[]): StackServiceView[] {
  return services.filter((s) => !s.has_container && !isNotDeployed(s, statuses));
}

/**
 * Stack services that are not deployed (a profile that is not active, an
 * optional service never deployed): listed apart, not counted as down.
 */
export function notDeployedOf(services: readonly StackServiceView[], statuses: readonly ServiceHealth[]): StackServiceView[] {
  return services.filter((s) => !s.has_container && isNotDeployed(s, statuses));
}

/** The newest run of each of a service's probes. */
export function runsOf(health: StackHealth | null, service: string) {
  return health?.last_runs.filter((r) => r.service === service) ?? [];
}

export function percentScore(score: number): string {
  return `${Math.round(score)}%`;
}
