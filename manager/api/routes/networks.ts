// /networks, /networks/create, /networks/{id}: swarm-scoped overlay networks.

import type { FastifyInstance } from 'fastify';
import { ShoalError } from '../../../shared/errors.js';
import type { NetworkCreateRequest } from '../../../shared/model/index.js';
import { networkFilter } from '../../allocator/network-filter.js';
import type { ApiBackend } from '../backend.js';
import { parseFilters } from '../filters.js';
import { createNetworkSchema, inspectNetworkSchema, listNetworksSchema, removeNetworkSchema } from '../schemas/network.js';

type IdParams = { id: string };

function unsupported(): never {
  throw new ShoalError('not_implemented', 'this daemon does not serve networks', 501);
}

export function registerNetworkRoutes(server: FastifyInstance, backend: ApiBackend): void {
  server.get<{ Querystring: { filters?: string } }>('/networks', { schema: listNetworksSchema }, async (request) => {
    const keep = networkFilter(parseFilters(request.query.filters));
    if (!backend.listNetworks) unsupported();
    return (await backend.listNetworks()).filter(keep);
  });

  server.post<{ Body: NetworkCreateRequest }>('/networks/create', { schema: createNetworkSchema }, async (request, reply) => {
    if (!backend.createNetwork) unsupported();
    return reply.code(201).send(await backend.createNetwork(request.body));
  });

  server.get<{ Params: IdParams }>('/networks/:id', { schema: inspectNetworkSchema }, async (request) => {
    if (!backend.inspectNetwork) unsupported();
    return backend.inspectNetwork(request.params.id);
  });

  server.delete<{ Params: IdParams }>('/networks/:id', { schema: removeNetworkSchema }, async (request, reply) => {
    if (!backend.removeNetwork) unsupported();
    await backend.removeNetwork(request.params.id);
    return reply.code(204).send();
  });
}
