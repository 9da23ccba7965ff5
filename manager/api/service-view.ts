// Service and task records as the API serves them: Docker's objects without
// the Internal parts the control loops keep. Pure. Copies are shallow: stored
// objects are frozen, and task lists can hold 100,000 entries.
import type { Service, ServiceRecord, ServiceSpec, Task, TaskRecord } from '../../shared/model/index.js';

/**
 * Docker always reports an Endpoint ({"Spec": {}} for a service without
 * ports); the allocator may store one, otherwise it follows the spec, with
 * the ports that name a published port.
 */
export function endpointOf(spec: ServiceSpec): NonNullable<Service['Endpoint']> {
  const e = spec.EndpointSpec;
  const published = (e?.Ports ?? []).filter((p) => (p.PublishedPort ?? 0) > 0);
  return {
    Spec: e === undefined ? {} : structuredClone(e),
    ...(published.length > 0 ? { Ports: structuredClone(published) } : {}),
  };
}

export function toApiService(r: ServiceRecord): Service {
  const { Internal: _internal, ...service } = r;
  return { ...service, Endpoint: service.Endpoint ?? endpointOf(service.Spec) };
}

export function toApiTask(r: TaskRecord): Task {
  const { Internal: _internal, ...task } = r;
  return task;
}
