// GET|HEAD /_ping, GET /version, GET /info.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ApiBackend } from '../backend.js';
import type { SwarmInfo } from '../../../shared/model/index.js';
import { countOpenFds, type HostFacts } from '../host-facts.js';
import { buildSystemInfo, buildSystemVersion, swarmPingStatus, type BuildInfo } from '../system-info.js';

export interface SystemRouteDeps {
  backend: ApiBackend;
  host: HostFacts;
  build: BuildInfo;
  /** Whether the daemon logs at debug level (the Debug field of /info). */
  debugEnabled: () => boolean;
}

export function registerSystemRoutes(server: FastifyInstance, { backend, host, build, debugEnabled }: SystemRouteDeps): void {
  // The docker CLI pings before anything else to negotiate the API version and to learn
  // whether swarm commands apply, so the ping must answer even when the backend misbehaves.
  async function pingHeaders(reply: FastifyReply): Promise<void> {
    let status: string;
    try {
      status = swarmPingStatus(await backend.swarmInfo());
    } catch (err) {
      reply.log.error({ err }, 'swarm status for /_ping failed');
      status = 'error';
    }
    reply.header('Cache-Control', 'no-cache, no-store, must-revalidate');
    reply.header('Pragma', 'no-cache');
    reply.header('Swarm', status);
  }

  server.get('/_ping', async (_request, reply) => {
    await pingHeaders(reply);
    return reply.type('text/plain; charset=utf-8').send('OK');
  });

  server.head('/_ping', async (_request, reply) => {
    await pingHeaders(reply);
    return reply.type('text/plain; charset=utf-8').header('Content-Length', '0').send();
  });

  server.get('/version', async () =>
    buildSystemVersion(backend.local(), build, { nodeVersion: process.version, arch: process.arch }),
  );

  server.get('/info', async () => {
    const swarm: SwarmInfo = await backend.swarmInfo();
    return buildSystemInfo({
      local: backend.local(),
      swarm,
      host,
      now: new Date(),
      debug: debugEnabled(),
      openFds: countOpenFds(),
    });
  });
}
