// /services, /services/create, /services/{id}, /services/{id}/update.

import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../../../shared/errors.js';
import type { ServiceSpec } from '../../../shared/model/index.js';
import type { ApiBackend } from '../backend.js';
import { parseFilters, serviceFilter } from '../filters.js';
import { objectVersion, strictBool } from '../query.js';
import {
  createServiceSchema,
  inspectServiceSchema,
  listServicesSchema,
  removeServiceSchema,
  updateServiceSchema,
} from '../schemas/service.js';
import { compareApiVersions, requestApiVersion } from '../version-prefix.js';

type IdParams = { id: string };

/** dockerd: `rollback` is "", "none" or "previous". */
export function parseRollback(raw: string | undefined): boolean {
  switch (raw ?? '') {
    case '':
    case 'none':
      return false;
    case 'previous':
      return true;
    default:
      throw new InvalidArgumentError(`unrecognized rollback option ${raw ?? ''} (use rollback=previous)`);
  }
}

/** The X-Registry-Auth header (`--with-registry-auth`), when one with content was sent. */
export function registryAuthHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const raw = headers['x-registry-auth'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value !== undefined && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * dockerd pins a service's image to a digest itself only for clients older
 * than API 1.30; newer ones (the docker and shoal CLIs) ask GET
 * /distribution/{name}/json first and send the pinned image, unless the user
 * said --no-resolve-image.
 */
export function queryRegistry(originalUrl: string): boolean {
  return compareApiVersions(requestApiVersion(originalUrl), '1.30') < 0;
}

/** dockerd: which spec's credentials an update without X-Registry-Auth keeps. */
export function parseRegistryAuthFrom(raw: string | undefined): 'spec' | 'previous-spec' {
  switch (raw ?? '') {
    case '':
    case 'spec':
      return 'spec';
    case 'previous-spec':
      return 'previous-spec';
    default:
      throw new InvalidArgumentError(`invalid registryAuthFrom ${raw ?? ''} (use spec or previous-spec)`);
  }
}

export function registerServiceRoutes(server: FastifyInstance, backend: ApiBackend): void {
  server.get<{ Querystring: { filters?: string; status?: string } }>('/services', { schema: listServicesSchema }, async (request) => {
    const keep = serviceFilter(parseFilters(request.query.filters));
    // dockerd ignores `status` from clients older than 1.41, which predate it.
    const status =
      compareApiVersions(requestApiVersion(request.originalUrl), '1.41') >= 0 && strictBool('status', request.query.status);
    return (await backend.listServices({ status })).filter(keep);
  });

  server.post<{ Body: ServiceSpec }>('/services/create', { schema: createServiceSchema }, async (request, reply) => {
    const created = await backend.createService(request.body, {
      registryAuth: registryAuthHeader(request.headers),
      queryRegistry: queryRegistry(request.originalUrl),
    });
    return reply.code(201).send(created);
  });

  server.get<{ Params: IdParams; Querystring: { insertDefaults?: string } }>(
    '/services/:id',
    { schema: inspectServiceSchema },
    async (request) =>
      backend.inspectService(request.params.id, { insertDefaults: strictBool('insertDefaults', request.query.insertDefaults) }),
  );

  server.post<{ Params: IdParams; Querystring: { version?: string; rollback?: string; registryAuthFrom?: string }; Body: ServiceSpec }>(
    '/services/:id/update',
    { schema: updateServiceSchema },
    async (request) => {
      // Same order of checks as dockerd: version, then the rollback option.
      const version = objectVersion('service', request.query.version);
      const rollback = parseRollback(request.query.rollback);
      const registryAuthFrom = parseRegistryAuthFrom(request.query.registryAuthFrom);
      return backend.updateService(request.params.id, version, request.body, {
        rollback,
        registryAuth: registryAuthHeader(request.headers),
        registryAuthFrom,
        queryRegistry: queryRegistry(request.originalUrl),
      });
    },
  );

  server.delete<{ Params: IdParams }>('/services/:id', { schema: removeServiceSchema }, async (request, reply) => {
    await backend.removeService(request.params.id);
    return reply.send();
  });
}
