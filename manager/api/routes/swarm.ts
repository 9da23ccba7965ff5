// /swarm, /swarm/init, /swarm/join, /swarm/leave, /swarm/update.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiBackend, SwarmInitRequest, SwarmJoinRequest } from '../backend.js';
import type { SwarmSpec } from '../../../shared/model/index.js';
import { lenientBool, objectVersion, strictBool } from '../query.js';
import { initSchema, joinSchema, leaveSchema, updateSchema } from '../schemas/swarm.js';
import { compareApiVersions, requestApiVersion } from '../version-prefix.js';

/**
 * Fields older API versions did not have are ignored for those clients, as dockerd does:
 * DefaultAddrPool and SubnetSize arrived in 1.39, DataPathPort in 1.40.
 */
export function initRequestForVersion(req: SwarmInitRequest, apiVersion: string): SwarmInitRequest {
  const out = { ...req };
  if (compareApiVersions(apiVersion, '1.39') < 0) {
    delete out.DefaultAddrPool;
    delete out.SubnetSize;
  }
  if (compareApiVersions(apiVersion, '1.40') < 0) delete out.DataPathPort;
  return out;
}

/**
 * The docker CLI sends Go's zero value, `"Availability": ""`, when --availability is not
 * given; that means "the default", so it is removed before the enum is checked.
 */
async function emptyAvailabilityIsAbsent(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  if (typeof body === 'object' && body !== null && 'Availability' in body && body.Availability === '') delete body.Availability;
}

export function registerSwarmRoutes(server: FastifyInstance, backend: ApiBackend): void {
  server.get('/swarm', async () => backend.inspectSwarm());

  server.post<{ Body: SwarmInitRequest }>('/swarm/init', { schema: initSchema, preValidation: emptyAvailabilityIsAbsent }, async (request, reply) => {
    const nodeId = await backend.init(initRequestForVersion(request.body, requestApiVersion(request.originalUrl)));
    // The body is the node ID as a JSON string, which is what `docker swarm init` decodes.
    return reply.type('application/json').send(JSON.stringify(nodeId));
  });

  server.post<{ Body: SwarmJoinRequest }>('/swarm/join', { schema: joinSchema, preValidation: emptyAvailabilityIsAbsent }, async (request, reply) => {
    await backend.join(request.body);
    return reply.send();
  });

  server.post<{ Querystring: { force?: string } }>('/swarm/leave', { schema: leaveSchema }, async (request, reply) => {
    await backend.leave(lenientBool(request.query.force));
    return reply.send();
  });

  type UpdateQuery = { version?: string; rotateWorkerToken?: string; rotateManagerToken?: string; rotateManagerUnlockKey?: string };
  server.post<{ Body: SwarmSpec; Querystring: UpdateQuery }>('/swarm/update', { schema: updateSchema }, async (request, reply) => {
    const q = request.query;
    // Same order of checks as dockerd: version first, then each rotate flag.
    const version = objectVersion('swarm', q.version);
    const rotate = {
      rotateWorkerToken: strictBool('rotateWorkerToken', q.rotateWorkerToken),
      rotateManagerToken: strictBool('rotateManagerToken', q.rotateManagerToken),
      rotateManagerUnlockKey: strictBool('rotateManagerUnlockKey', q.rotateManagerUnlockKey),
    };
    await backend.updateSwarm(version, request.body, rotate);
    return reply.send();
  });
}
