// GET /images/json, GET /images/{name}/json, POST /images/create (pull),
// DELETE /images/{name}, GET /distribution/{name}/json: this node's images.
// Image names contain slashes, so the name routes match the rest of the path.

import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError, isShoalError, ShoalError } from '../../../shared/errors.js';
import { decodeRegistryAuth } from '../../../shared/registry/x-registry-auth.js';
import type { ImageBackend, PullMessage } from '../image-types.js';
import { strictBool } from '../query.js';
import { registryAuthHeader } from './services.js';

/** `fromImage` and `tag` as the docker CLI sends them: a tag or a digest may sit in either. */
export function pullReference(fromImage: string | undefined, tag: string | undefined): string {
  const image = (fromImage ?? '').trim();
  if (image === '') throw new InvalidArgumentError('fromImage is required (e.g. fromImage=127.0.0.1:5000/web&tag=1)');
  const t = (tag ?? '').trim();
  if (t === '') return image;
  return t.startsWith('sha256:') ? `${image}@${t}` : `${image}:${t}`;
}

function authOf(headers: Record<string, string | string[] | undefined>) {
  const raw = registryAuthHeader(headers);
  return raw === undefined ? undefined : decodeRegistryAuth(raw);
}

export function registerImageRoutes(server: FastifyInstance, images: ImageBackend | undefined): void {
  const need = (): ImageBackend => {
    if (images === undefined) throw new ShoalError('not_implemented', 'this daemon keeps no images (it runs the sim executor)', 501);
    return images;
  };

  server.get('/images/json', async () => need().listImages());

  server.get<{ Params: { '*': string } }>('/images/*', async (request) => {
    const rest = request.params['*'];
    if (!rest.endsWith('/json')) throw new ShoalError('not_found', `page not found: /images/${rest}`, 404);
    return need().inspectImage(rest.slice(0, -'/json'.length));
  });

  server.delete<{ Params: { '*': string }; Querystring: { force?: string; noprune?: string } }>('/images/*', async (request) =>
    need().removeImage(request.params['*'], strictBool('force', request.query.force)),
  );

  server.get<{ Params: { '*': string } }>('/distribution/*', async (request) => {
    const rest = request.params['*'];
    if (!rest.endsWith('/json')) throw new ShoalError('not_found', `page not found: /distribution/${rest}`, 404);
    return need().distributionInspect(rest.slice(0, -'/json'.length), authOf(request.headers));
  });

  server.post<{ Querystring: { fromImage?: string; tag?: string; fromSrc?: string; platform?: string } }>('/images/create', async (request, reply) => {
    const backend = need();
    if (request.query.fromSrc !== undefined) throw new ShoalError('not_implemented', 'importing images (fromSrc) is not supported; push the image to a registry and pull it', 501);
    const ref = pullReference(request.query.fromImage, request.query.tag);
    const auth = authOf(request.headers);
    const abort = new AbortController();
    const onClose = (): void => abort.abort(new Error('client went away'));
    reply.raw.once('close', onClose);
    // As dockerd: an error before any progress is an HTTP error; after, a message in the stream.
    const early: PullMessage[] = [];
    let started = false;
    const write = (m: PullMessage): void => {
      if (!started) {
        early.push(m);
        return;
      }
      reply.raw.write(`${JSON.stringify(m)}\r\n`);
    };
    const start = (): void => {
      if (started) return;
      started = true;
      reply.hijack();
      reply.raw.writeHead(200, { 'Content-Type': 'application/json' });
      for (const m of early.splice(0)) reply.raw.write(`${JSON.stringify(m)}\r\n`);
    };
    try {
      await backend.pullImage(
        ref,
        auth,
        (m) => {
          write(m);
          // Anything after "Pulling from" means the registry answered: stream from here on.
          if (m.status === undefined || !m.status.startsWith('Pulling from')) start();
        },
        abort.signal,
      );
      start();
      reply.raw.end();
    } catch (err) {
      if (!started) throw err;
      const message = isShoalError(err) || err instanceof Error ? err.message : String(err);
      reply.raw.end(`${JSON.stringify({ errorDetail: { message }, error: message })}\r\n`);
    } finally {
      reply.raw.off('close', onClose);
    }
    return reply;
  });
}
