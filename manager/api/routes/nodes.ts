// /nodes, /nodes/{id}, /nodes/{id}/update.

import type { FastifyInstance } from 'fastify';
import type { ApiBackend } from '../backend.js';
import type { NodeSpec } from '../../../shared/model/index.js';
import { nodeFilter, parseFilters } from '../filters.js';
import { lenientBool, objectVersion } from '../query.js';
import { inspectNodeSchema, listNodesSchema, removeNodeSchema, updateNodeSchema } from '../schemas/node.js';

type IdParams = { id: string };

export function registerNodeRoutes(server: FastifyInstance, backend: ApiBackend): void {
  server.get<{ Querystring: { filters?: string } }>('/nodes', { schema: listNodesSchema }, async (request) => {
    // Bad filters are the caller's mistake: report them before asking the backend anything.
    const keep = nodeFilter(parseFilters(request.query.filters));
    return (await backend.listNodes()).filter(keep);
  });

  server.get<{ Params: IdParams }>('/nodes/:id', { schema: inspectNodeSchema }, async (request) =>
    backend.inspectNode(request.params.id),
  );

  server.post<{ Params: IdParams; Querystring: { version?: string }; Body: NodeSpec }>(
    '/nodes/:id/update',
    { schema: updateNodeSchema },
    async (request, reply) => {
      const version = objectVersion('node', request.query.version);
      await backend.updateNode(request.params.id, version, request.body);
      return reply.send();
    },
  );

  server.delete<{ Params: IdParams; Querystring: { force?: string } }>(
    '/nodes/:id',
    { schema: removeNodeSchema },
    async (request, reply) => {
      await backend.removeNode(request.params.id, lenientBool(request.query.force));
      return reply.send();
    },
  );
}
