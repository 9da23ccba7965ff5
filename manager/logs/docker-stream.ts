// Log lines in the shape dockerd writes them (api/server/httputils/
// write_log_stream.go): each line optionally prefixed with its time
// (RFC3339NanoFixed) and its details (the context attrs, sorted and
// query-escaped: `k=v,k=v`), as one frame of Docker's multiplexed stream
// (8-byte header: stream type, 0, 0, 0, big-endian uint32 size). The docker
// CLI relies on exactly this to print `web.1.xyz@node    | line`.
import { formatLogTimeFixed, logTimeNs } from '../../shared/protocol/logs.js';
import { incompleteStreamMessage } from './selection.js';
import type { LogEvent, LogLine } from './types.js';

export const MEDIA_TYPE_MULTIPLEXED = 'application/vnd.docker.multiplexed-stream';
export const MEDIA_TYPE_RAW = 'application/vnd.docker.raw-stream';

/** Stream types of the multiplexed stream; 3 carries the daemon's own errors. */
export const STDOUT = 1;
export const STDERR = 2;
export const SYSTEMERR = 3;
export type MuxStream = typeof STDOUT | typeof STDERR | typeof SYSTEMERR;

export const MUX_HEADER_BYTES = 8;

export function muxFrame(stream: MuxStream, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(MUX_HEADER_BYTES + payload.byteLength);
  out.writeUInt32BE(0, 0);
  out[0] = stream;
  out.writeUInt32BE(payload.byteLength, 4);
  out.set(payload, MUX_HEADER_BYTES);
  return out;
}

/** Go's url.QueryEscape: everything but letters, digits and -_.~ as %XX, spaces as +. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** The attrs dockerd adds to a swarm task's lines, as `--details` shows them. */
export function detailsOf(l: LogLine): string {
  const attrs: Array<[string, string]> = [
    ['com.docker.swarm.node.id', l.nodeId],
    ['com.docker.swarm.service.id', l.serviceId],
    ['com.docker.swarm.task.id', l.taskId],
  ];
  attrs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return attrs.map(([k, v]) => `${queryEscape(k)}=${queryEscape(v)}`).join(',');
}

export interface LineFormat {
  details: boolean;
  timestamps: boolean;
}

/** One line's payload: `[time ][details ]line`. */
export function renderLine(l: LogLine, f: LineFormat): Buffer {
  let prefix = '';
  if (f.timestamps) prefix += `${fixedTime(l.time)} `;
  if (f.details) prefix += `${detailsOf(l)} `;
  return prefix === '' ? Buffer.from(l.line.buffer, l.line.byteOffset, l.line.byteLength) : Buffer.concat([Buffer.from(prefix), l.line]);
}

function fixedTime(time: string): string {
  try {
    return formatLogTimeFixed(logTimeNs(time));
  } catch {
    return time;
  }
}

/**
 * The response body: a frame per line; the warnings (nodes that could not
 * answer) gathered into one error frame at the end, as swarmkit reports an
 * incomplete stream: the docker CLI prints every line, then the error.
 */
export async function* dockerLogFrames(events: AsyncIterable<LogEvent>, f: LineFormat): AsyncGenerator<Buffer, void, undefined> {
  const warnings: string[] = [];
  try {
    for await (const e of events) {
      if (e.kind === 'warning') warnings.push(e.message);
      else yield muxFrame(e.stream === 'stdout' ? STDOUT : STDERR, renderLine(e, f));
    }
  } catch (err) {
    warnings.push(err instanceof Error ? err.message : String(err));
  }
  if (warnings.length > 0) yield muxFrame(SYSTEMERR, Buffer.from(`Error grabbing logs: ${incompleteStreamMessage(warnings)}\n`));
}
