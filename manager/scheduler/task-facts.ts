// What the scheduler needs to know about a task: what it reserves on its node,
// which host ports it holds, and whether it counts towards spreading. Pure.
import type { ServiceRecord, TaskRecord, TaskSpec, TaskState } from '../../shared/model/index.js';
import { isActiveOnNode, stateIndex } from '../../shared/model/task-states.js';

/** A task's footprint on the node it is placed on. */
export interface TaskFootprint {
  serviceId: string;
  nanoCPUs: number;
  memoryBytes: number;
  /** Host-mode published ports, as "protocol/port". */
  hostPorts: readonly string[];
  /**
   * Counts for spread and MaxReplicas. Docker counts tasks meant to run;
   * jobs (desired complete) count too, or a batch of job tasks would pile
   * onto one node.
   */
  counted: boolean;
}

/** Finds a service by ID (the store's get, in the shell). */
export type ServiceLookup = (id: string) => ServiceRecord | undefined;

const NO_PORTS: readonly string[] = [];

export function reservations(spec: TaskSpec): { nanoCPUs: number; memoryBytes: number } {
  const r = spec.Resources?.Reservations;
  return { nanoCPUs: r?.NanoCPUs ?? 0, memoryBytes: r?.MemoryBytes ?? 0 };
}

/**
 * Host-mode ports with a fixed published port. Tasks carry no endpoint of
 * their own in this model, so they come from the service's EndpointSpec.
 * Ingress ports and published port 0 (the engine picks one) never clash.
 */
export function hostPorts(service: ServiceRecord | undefined): readonly string[] {
  const ports = service?.Spec.EndpointSpec?.Ports;
  if (!ports || ports.length === 0) return NO_PORTS;
  const out: string[] = [];
  for (const p of ports) {
    if (p.PublishMode === 'host' && p.PublishedPort !== undefined && p.PublishedPort > 0) out.push(`${p.Protocol ?? 'tcp'}/${p.PublishedPort}`);
  }
  return out.length === 0 ? NO_PORTS : out;
}

/** Counts for spread: desired to run (ready, running) or to complete (jobs), not being stopped. */
export function countsForSpread(desired: TaskState): boolean {
  return stateIndex(desired) <= stateIndex('complete');
}

/** Holds resources on its node: placed (NodeID set) and between assigned and running. */
export function occupiesNode(task: TaskRecord): boolean {
  return task.NodeID !== undefined && task.NodeID !== '' && isActiveOnNode(task.Status.State);
}

/** What the scheduler works on: pending tasks (with or without a preset node) desired ready, running or complete. */
export function isSchedulable(task: TaskRecord): boolean {
  if (task.Status.State !== 'pending') return false;
  const d = task.DesiredState;
  return d === 'ready' || d === 'running' || d === 'complete';
}

/**
 * Waits for the allocator: the task joins overlay networks (its spec names
 * some, or its service publishes ports through the ingress network) and has
 * no addresses yet. Placing it first would start a container with no
 * address on its networks.
 */
export function awaitsNetworks(task: TaskRecord, services: ServiceLookup): boolean {
  if ((task.NetworksAttachments?.length ?? 0) > 0) return false;
  if ((task.Spec.Networks?.length ?? 0) > 0) return true;
  return (services(task.ServiceID)?.Spec.EndpointSpec?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress');
}

export function footprint(task: TaskRecord, services: ServiceLookup): TaskFootprint {
  const r = reservations(task.Spec);
  return {
    serviceId: task.ServiceID,
    nanoCPUs: r.nanoCPUs,
    memoryBytes: r.memoryBytes,
    hostPorts: hostPorts(services(task.ServiceID)),
    counted: countsForSpread(task.DesiredState),
  };
}
