// A GET whose body is a stream the daemon may keep open for as long as the
// user follows it (the logs endpoints), so it has no body timeout, unlike
// DaemonClient's requests. Error answers read like DaemonClient's.
import { Agent, request } from 'undici';
import { ShoalError } from '../../shared/errors.js';
import { API_VERSION, VERSION } from '../../shared/version.js';
import { DaemonConnectionError, DaemonError, type DaemonAddress, type QueryValue } from '../http-client.js';

const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'ENOTSOCK', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export interface OpenedStream {
  body: AsyncIterable<Uint8Array>;
  contentType: string;
  /** Stop reading and release the connection. */
  close(): Promise<void>;
}

export async function openStream(address: DaemonAddress, path: string, query: Record<string, QueryValue>, headersTimeoutMs = 60_000): Promise<OpenedStream> {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  const agent = new Agent({ connect: address.socketPath === undefined ? { timeout: 5_000 } : { timeout: 5_000, socketPath: address.socketPath } });
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(`${address.origin}/v${API_VERSION}${path}${qs.size > 0 ? `?${qs.toString()}` : ''}`, {
      method: 'GET',
      dispatcher: agent,
      headers: { 'user-agent': `shoal-cli/${VERSION}` },
      headersTimeout: headersTimeoutMs,
      bodyTimeout: 0,
    });
  } catch (err) {
    await agent.close().catch(() => undefined);
    throw transportError(err, address, path);
  }
  const close = async (): Promise<void> => {
    res.body.destroy();
    await agent.destroy().catch(() => undefined);
  };
  if (res.statusCode < 200 || res.statusCode > 299) {
    const text = await res.body.text().catch(() => '');
    await close();
    throw new DaemonError(res.statusCode, errorMessage(res.statusCode, text));
  }
  const type = res.headers['content-type'];
  return { body: res.body, contentType: typeof type === 'string' ? type : '', close };
}

function errorMessage(status: number, text: string): string {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'message' in parsed && typeof parsed.message === 'string') return parsed.message;
  } catch {
    // Not JSON: the text is the message.
  }
  return text.trim() === '' ? `the daemon answered HTTP ${status} with no message` : text.trim();
}

function transportError(err: unknown, address: DaemonAddress, path: string): ShoalError {
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  if (code !== undefined && UNREACHABLE.has(code)) {
    return new DaemonConnectionError(`Cannot connect to the shoal daemon at ${address.display}. Is the shoal daemon running? (start it with: shoal daemon)`, err);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return new DaemonConnectionError(`the shoal daemon at ${address.display} did not answer GET ${path} in time (see its log)`, err);
  return new DaemonConnectionError(`error talking to the shoal daemon at ${address.display} (GET ${path}): ${err instanceof Error ? err.message : String(err)}`, err);
}
