// What a service asks of the network side: which networks its tasks join
// (the ingress network first when it publishes ports in ingress mode, as
// swarmkit does) and whether it needs virtual IPs. Pure; shared by the
// allocator, the scheduler's gate and the API.
import type { EndpointPortConfig, NetworkAttachmentConfig, ServiceSpec, TaskSpec } from '../../shared/model/index.js';
import { INGRESS_PORT_RANGE } from '../../shared/model/index.js';

/** The spec's network attachments: TaskTemplate.Networks, or the deprecated ServiceSpec.Networks. */
export function specNetworks(spec: ServiceSpec): readonly NetworkAttachmentConfig[] {
  const t = spec.TaskTemplate.Networks ?? [];
  return t.length > 0 ? t : (spec.Networks ?? []);
}

/** A task's own network attachments (copied from the TaskTemplate when it was made). */
export function taskNetworks(spec: TaskSpec): readonly NetworkAttachmentConfig[] {
  return spec.Networks ?? [];
}

export function publishMode(p: EndpointPortConfig): 'ingress' | 'host' {
  return p.PublishMode ?? 'ingress';
}

/** True when the service publishes a port through the routing mesh, and so needs the ingress network. */
export function publishesIngress(spec: ServiceSpec | undefined): boolean {
  return (spec?.EndpointSpec?.Ports ?? []).some((p) => publishMode(p) === 'ingress');
}

export function endpointMode(spec: ServiceSpec): 'vip' | 'dnsrr' {
  return spec.EndpointSpec?.Mode === 'dnsrr' ? 'dnsrr' : 'vip';
}

/**
 * A published ingress port another service holds in its allocated endpoint
 * (a port the allocator picked from the dynamic range is in no spec, so
 * checking specs alone misses it). Undefined when there is none.
 */
export function endpointPortConflict(
  spec: ServiceSpec,
  selfId: string | undefined,
  others: ReadonlyArray<{ ID: string; Spec: ServiceSpec; Endpoint?: { Ports?: EndpointPortConfig[] } }>,
): string | undefined {
  const wanted = (spec.EndpointSpec?.Ports ?? []).filter((p) => (p.PublishedPort ?? 0) > 0);
  for (const other of others) {
    if (other.ID === selfId) continue;
    for (const theirs of other.Endpoint?.Ports ?? []) {
      if (publishMode(theirs) !== 'ingress' || !theirs.PublishedPort) continue;
      const mine = wanted.find((p) => p.PublishedPort === theirs.PublishedPort && (p.Protocol ?? 'tcp') === (theirs.Protocol ?? 'tcp'));
      if (mine) {
        return `port '${theirs.PublishedPort}' is already in use by service '${other.Spec.Name ?? ''}' (${other.ID}) as an ingress port; publish another port, or leave the published port out to get one from ${INGRESS_PORT_RANGE[0]}-${INGRESS_PORT_RANGE[1]}`;
      }
    }
  }
  return undefined;
}
