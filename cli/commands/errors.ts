// How a failed command reads on stderr: daemon errors as the docker CLI prints them
// ("Error response from daemon: ..."), our own errors as their message, and anything
// unexpected with a `shoal:` prefix (and its stack under SHOAL_DEBUG).

import { ShoalError } from '../../shared/errors.js';
import { DaemonError } from '../http-client.js';

export function describeError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  if (err instanceof DaemonError) return `Error response from daemon: ${err.message}`;
  if (err instanceof ShoalError) return err.message;
  if (err instanceof Error) return `shoal: ${env['SHOAL_DEBUG'] ? (err.stack ?? err.message) : err.message}`;
  return `shoal: ${String(err)}`;
}
