// GET /services/{id}/logs and GET /tasks/{id}/logs: a plain chunked response
// (no hijacked connection, which is what the docker CLI reads for logs) of
// multiplexed frames, one per line. Every refusal (bad query, unknown
// target, not a manager) is an ordinary error answer; once the 200 is out,
// problems can only be reported inside the stream (see docker-stream.ts).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { ShoalError } from '../../../shared/errors.js';
import { dockerLogFrames, MEDIA_TYPE_MULTIPLEXED, MEDIA_TYPE_RAW } from '../../logs/docker-stream.js';
import { type LogsHttpQuery, parseLogsHttpQuery } from '../../logs/http-query.js';
import type { LogEvent } from '../../logs/types.js';
import type { ApiBackend } from '../backend.js';
import { idParams, query } from '../schemas/common.js';
import { compareApiVersions, requestApiVersion } from '../version-prefix.js';

const logsSchema = {
  params: idParams,
  querystring: query(['details', 'follow', 'stdout', 'stderr', 'since', 'until', 'timestamps', 'tail']),
};

export function registerLogRoutes(server: FastifyInstance, backend: ApiBackend): void {
  for (const kind of ['service', 'task'] as const) {
    server.get<{ Params: { id: string }; Querystring: LogsHttpQuery }>(`/${kind}s/:id/logs`, { schema: logsSchema }, async (request, reply) => {
      const { query: q, format } = parseLogsHttpQuery(request.query);
      if (!backend.logs) throw new ShoalError('not_implemented', 'this daemon cannot serve logs', 501);
      // The client going away stops every node's stream.
      const stop = new AbortController();
      const onClose = (): void => stop.abort();
      reply.raw.once('close', onClose);
      let events: AsyncIterable<LogEvent>;
      try {
        events = await backend.logs({ kind, ref: request.params.id }, q, stop.signal);
      } catch (err) {
        reply.raw.off('close', onClose);
        stop.abort();
        throw err;
      }
      // dockerd labels the stream multiplexed from API 1.42 on; older clients expect raw-stream.
      const type = compareApiVersions(requestApiVersion(request.originalUrl), '1.42') >= 0 ? MEDIA_TYPE_MULTIPLEXED : MEDIA_TYPE_RAW;
      reply.hijack();
      const res = reply.raw;
      // Hijacked, the reply's headers (API-Version and the rest) are ours to send.
      for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) res.setHeader(k, v);
      res.setHeader('content-type', type);
      res.writeHead(200);
      // Headers out now, as dockerd does: a follower with no line yet still learns the request worked.
      res.flushHeaders();
      try {
        await pipeline(Readable.from(dockerLogFrames(events, format)), res);
      } catch (err) {
        if (!stop.signal.aborted) request.log.warn({ err }, 'logs response failed');
      } finally {
        stop.abort();
      }
    });
  }
}
