// Service and task records as the API serves them: Docker's objects without
// the Internal parts the control loops keep. Pure. Copies are shallow: stored
// objects are frozen, and task lists can hold 100,000 entries.
import type { Service, ServiceRecord, ServiceSpec, Task, TaskRecord, TaskSpec } from '../../shared/model/index.js';

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
  const out: Service = { ...service, Spec: withoutCredentials(service.Spec), Endpoint: service.Endpoint ?? endpointOf(service.Spec) };
  if (service.PreviousSpec !== undefined) out.PreviousSpec = withoutCredentials(service.PreviousSpec);
  return out;
}

export function toApiTask(r: TaskRecord): Task {
  const { Internal: _internal, ...task } = r;
  return task.Spec.ContainerSpec?.PullOptions === undefined ? task : { ...task, Spec: taskSpecWithoutCredentials(task.Spec) };
}

/** Registry credentials stay inside the cluster, as in Docker: the API never returns them. */
function withoutCredentials(spec: ServiceSpec): ServiceSpec {
  if (spec.TaskTemplate.ContainerSpec?.PullOptions === undefined) return spec;
  return { ...spec, TaskTemplate: taskSpecWithoutCredentials(spec.TaskTemplate) };
}

function taskSpecWithoutCredentials(t: TaskSpec): TaskSpec {
  if (t.ContainerSpec === undefined) return t;
  const { PullOptions: _pull, ...container } = t.ContainerSpec;
  return { ...t, ContainerSpec: container };
}
