// Builds an API server around a FakeBackend, with logs captured instead of printed.

import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createApiServer } from '../../../manager/api/server.js';
import type { HostFacts } from '../../../manager/api/host-facts.js';
import { createLogger } from '../../../shared/logger.js';
import { FakeBackend } from './fake-backend.js';

export const HOST: HostFacts = {
  operatingSystem: 'Debian GNU/Linux 13 (trixie)',
  osVersion: '13',
  cgroupVersion: '2',
  httpProxy: '',
  httpsProxy: '',
  noProxy: '',
};

export interface Harness {
  server: FastifyInstance;
  backend: FakeBackend;
  /** Parsed log lines at warn level and above. */
  logs: Array<Record<string, unknown>>;
}

export function harness(options: { bodyLimit?: number; backend?: FakeBackend } = {}): Harness {
  const backend = options.backend ?? new FakeBackend();
  const logs: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void logs.push(JSON.parse(line)) } });
  const server = createApiServer({
    backend,
    logger,
    host: HOST,
    build: { gitCommit: 'abc1234', buildTime: '2024-05-01T10:00:00Z' },
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
  });
  return { server, backend, logs };
}

/** The `message` of a Docker error body. */
export function messageOf(res: LightMyRequestResponse): string {
  const body: unknown = res.json();
  if (typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string') return body.message;
  throw new Error(`not an error body: ${res.body}`);
}

/** JSON POST with the headers the docker CLI sends. */
export function postJson(server: FastifyInstance, url: string, body: unknown): Promise<LightMyRequestResponse> {
  return server.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}
