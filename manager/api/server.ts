// The daemon's HTTP API: a fastify server speaking a subset of the Docker Engine API, so
// the stock docker CLI works against it. Routes live in routes/*; this file wires what
// every request shares (version prefixes, headers, body parsing, errors, logging).

import { isShoalError } from '../../shared/errors.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from '../../shared/logger.js';
import { API_VERSION, VERSION } from '../../shared/version.js';
import type { ApiBackend } from './backend.js';
import { toErrorReply } from './errors.js';
import { readHostFacts, type HostFacts } from './host-facts.js';
import { parseJsonBody, unsupportedContentType } from './json-body.js';
import type { ImageBackend } from './image-types.js';
import { registerImageRoutes } from './routes/images.js';
import { registerLogRoutes } from './routes/logs.js';
import { registerNetworkRoutes } from './routes/networks.js';
import { registerNodeRoutes } from './routes/nodes.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerSwarmRoutes } from './routes/swarm.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerTaskRoutes } from './routes/tasks.js';
import type { BuildInfo } from './system-info.js';
import { checkApiVersion, splitVersionPrefix } from './version-prefix.js';

export { listen, parseHostSpec, type HostSpec } from './listen.js';

/** 1 MiB: the largest body we accept (a SwarmSpec with CA certificates is a few KiB). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface ApiServerOptions {
  backend: ApiBackend;
  logger: Logger;
  /** Largest request body in bytes; larger ones get 413. */
  bodyLimit?: number;
  /** Reported by GET /version; empty strings when not given. */
  build?: BuildInfo;
  /** Host facts for GET /info; read from the machine when not given. */
  host?: HostFacts;
  /** This node's images (the oci executor's store); absent, the image routes answer 501. */
  images?: ImageBackend;
}

/** Per-request lines at debug level: at info they would drown the daemon's own log. */
class DebugRequestLogs extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.originalUrl }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { method: request.method, url: request.originalUrl, statusCode: reply.statusCode, ms: reply.elapsedTime };
    // Refusals we raise on purpose (ShoalError: no leader, conflicts, bad input) are routine.
    if (error) reply.log[isShoalError(error) ? 'info' : 'error']({ ...fields, err: error }, 'request failed');
    else reply.log.debug(fields, 'request completed');
  }
}

export function createApiServer(options: ApiServerOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const backend = options.backend;
  // Seen through fastify's logger interface so the instance has the plain FastifyInstance type.
  const loggerInstance: FastifyBaseLogger = options.logger;
  const server = Fastify({
    loggerInstance,
    logController: new DebugRequestLogs(),
    bodyLimit,
    // dockerd answers HEAD only on /_ping (registered explicitly below).
    exposeHeadRoutes: false,
    // One route table serves `/nodes` and `/v1.47/nodes`; the version is re-read from
    // request.originalUrl where it matters.
    rewriteUrl: (req) => splitVersionPrefix(req.url ?? '/').path,
    // Node names are hostnames, which may be long.
    routerOptions: { maxParamLength: 512 },
    requestIdHeader: false,
    // Types are checked, never coerced: `"Name": 5` is an error, not "5". Unknown object
    // fields are stripped (see schemas/common.ts).
    ajv: { customOptions: { coerceTypes: false, removeAdditional: true, useDefaults: false, allErrors: false } },
    // URLs the router cannot even parse (bad percent-encoding, absurdly long IDs) fail
    // before any hook runs; they still get Docker's headers and error shape.
    frameworkErrors: (err, request, reply) => {
      setDockerHeaders(reply);
      const result = toErrorReply(err, { bodyLimit, contentType: request.headers['content-type'] });
      void sendError(reply, result.status, result.message);
    },
  });

  registerBodyParsers(server);

  server.addHook('onRequest', async (request, reply) => {
    setDockerHeaders(reply);
    const version = splitVersionPrefix(request.originalUrl).version;
    if (version !== undefined) checkApiVersion(version);
  });

  server.addHook('preValidation', async (request) => {
    // An empty body means "all zero values" to dockerd; give the schema an object to check.
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) request.body = {};
  });

  server.addHook('onSend', async (_request, reply, payload) => {
    // Answer exactly as dockerd does ("application/json", no charset); fastify would
    // append "; charset=utf-8". Error bodies are handled by sendError.
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) reply.header('content-type', 'application/json');
    return payload;
  });

  server.setErrorHandler((err, request, reply) => {
    const result = toErrorReply(err, { bodyLimit, contentType: request.headers['content-type'] });
    if (result.unexpected) request.log.error({ err, url: request.originalUrl }, 'API request failed');
    else request.log[result.status >= 500 ? 'info' : 'debug']({ status: result.status, message: result.message }, 'API request rejected');
    return sendError(reply, result.status, result.message);
  });

  server.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'page not found'));

  registerSystemRoutes(server, {
    backend,
    host: options.host ?? readHostFacts(process.env, backend.local().os),
    build: options.build ?? { gitCommit: '', buildTime: '' },
    debugEnabled: () => options.logger.isLevelEnabled('debug'),
  });
  registerSwarmRoutes(server, backend);
  registerNodeRoutes(server, backend);
  registerServiceRoutes(server, backend);
  registerTaskRoutes(server, backend);
  registerNetworkRoutes(server, backend);
  registerLogRoutes(server, backend);
  registerImageRoutes(server, options.images);
  return server;
}

/** dockerd's version middleware sets these on every response, errors included. */
function setDockerHeaders(reply: FastifyReply): void {
  reply.header('API-Version', API_VERSION);
  reply.header('Docker-Experimental', 'false');
  reply.header('OSType', 'linux');
  reply.header('Server', `shoal/${VERSION} (linux)`);
}

/**
 * Docker's ErrorResponse. Sent as a Buffer so fastify leaves the Content-Type alone: the
 * docker CLI decodes the message only when it is exactly "application/json".
 */
function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(Buffer.from(JSON.stringify({ message })));
}

function registerBodyParsers(server: FastifyInstance): void {
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Anything else is fine only when empty: the docker CLI labels bodiless POSTs
  // (e.g. /swarm/leave) "text/plain".
  server.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    if (String(body) === '') done(null, undefined);
    else done(unsupportedContentType(request.headers['content-type'] ?? ''), undefined);
  });
}
