// What the executor (in the agent) and the container monitor say to each
// other over <data-root>/containers/monitor.sock: newline-delimited JSON,
// each request `{"seq":n,"req":{...}}` answered by `{"seq":n,"ok":true,"result":...}`
// or `{"seq":n,"ok":false,"error":{"code","message"}}`. Answers may come out
// of order (a `wait` answers when its container exits). Pure: encoding and
// validation of every message.
import type { LogRotation } from './json-log.js';

export const CONTAINER_ID = /^[0-9a-f]{64}$/;

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerExit {
  exitCode: number;
  /** Unix ms. */
  finishedAt: number;
  oomKilled: boolean;
  /** Why, when the exit code alone does not say (OOM, exit while no monitor watched). */
  message?: string;
  /** The process never started: the runtime's error (e.g. the executable was not found). */
  startError?: string;
}

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** The container's init process, as the host sees it. */
  pid?: number;
  /** Unix ms. */
  startedAt?: number;
  exit?: ContainerExit;
}

export type MonitorRequest =
  | { op: 'ping' }
  | { op: 'start'; id: string; log: LogRotation }
  | { op: 'state'; id: string }
  | { op: 'wait'; id: string }
  | { op: 'kill'; id: string; signal: number }
  | { op: 'delete'; id: string }
  | { op: 'list' }
  | { op: 'shutdown' };

export type MonitorOp = MonitorRequest['op'];

export interface MonitorResults {
  ping: { pid: number };
  start: ContainerState;
  state: ContainerState;
  wait: ContainerState;
  kill: Record<string, never>;
  delete: Record<string, never>;
  list: ContainerState[];
  shutdown: Record<string, never>;
}

export interface MonitorError {
  code: string;
  message: string;
}

export type MonitorResponse = { seq: number; ok: true; result: unknown } | { seq: number; ok: false; error: MonitorError };

export class ProtocolError extends Error {}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function encodeRequest(seq: number, req: MonitorRequest): string {
  return `${JSON.stringify({ seq, req })}\n`;
}

export function encodeResponse(r: MonitorResponse): string {
  return `${JSON.stringify(r)}\n`;
}

function containerId(o: Obj): string {
  const id = o['id'];
  if (typeof id !== 'string' || !CONTAINER_ID.test(id)) throw new ProtocolError('id must be 64 lowercase hex characters');
  return id;
}

export function decodeRequest(line: string): { seq: number; req: MonitorRequest } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('request is not JSON');
  }
  if (!isObj(v) || !isInt(v['seq']) || !isObj(v['req'])) throw new ProtocolError('request must be {"seq": <int>, "req": {...}}');
  const seq = v['seq'];
  const r = v['req'];
  switch (r['op']) {
    case 'ping':
    case 'list':
    case 'shutdown':
      return { seq, req: { op: r['op'] } };
    case 'state':
    case 'wait':
    case 'delete':
      return { seq, req: { op: r['op'], id: containerId(r) } };
    case 'kill': {
      const signal = r['signal'];
      if (!isInt(signal) || signal < 1 || signal > 64) throw new ProtocolError('signal must be a number from 1 to 64');
      return { seq, req: { op: 'kill', id: containerId(r), signal } };
    }
    case 'start': {
      const log = r['log'];
      if (!isObj(log) || !isInt(log['maxSize']) || !isInt(log['maxFiles']) || log['maxSize'] < 1 || log['maxFiles'] < 1) {
        throw new ProtocolError('start needs log: {maxSize, maxFiles}, both positive integers');
      }
      return { seq, req: { op: 'start', id: containerId(r), log: { maxSize: log['maxSize'], maxFiles: log['maxFiles'] } } };
    }
    default:
      throw new ProtocolError(`unknown op ${JSON.stringify(r['op'])}`);
  }
}

export function decodeResponse(line: string): MonitorResponse {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ProtocolError('response is not JSON');
  }
  if (!isObj(v) || !isInt(v['seq'])) throw new ProtocolError('response must carry a seq');
  if (v['ok'] === true) return { seq: v['seq'], ok: true, result: v['result'] };
  const e = v['error'];
  if (v['ok'] === false && isObj(e) && typeof e['code'] === 'string' && typeof e['message'] === 'string') {
    return { seq: v['seq'], ok: false, error: { code: e['code'], message: e['message'] } };
  }
  throw new ProtocolError('response must be ok with a result, or not ok with an error');
}

export function parseExit(v: unknown): ContainerExit {
  if (!isObj(v) || !isInt(v['exitCode']) || typeof v['finishedAt'] !== 'number' || typeof v['oomKilled'] !== 'boolean') {
    throw new ProtocolError('exit must be {exitCode, finishedAt, oomKilled}');
  }
  const out: ContainerExit = { exitCode: v['exitCode'], finishedAt: v['finishedAt'], oomKilled: v['oomKilled'] };
  if (typeof v['message'] === 'string') out.message = v['message'];
  if (typeof v['startError'] === 'string') out.startError = v['startError'];
  return out;
}

export function parseState(v: unknown): ContainerState {
  if (!isObj(v)) throw new ProtocolError('container state must be an object');
  const id = containerId(v);
  const status = v['status'];
  if (status !== 'created' && status !== 'running' && status !== 'exited') throw new ProtocolError('status must be created, running or exited');
  const out: ContainerState = { id, status };
  if (isInt(v['pid'])) out.pid = v['pid'];
  if (typeof v['startedAt'] === 'number') out.startedAt = v['startedAt'];
  if (v['exit'] !== undefined) out.exit = parseExit(v['exit']);
  if (status === 'exited' && out.exit === undefined) throw new ProtocolError('an exited container must carry its exit');
  return out;
}

/** Each op's result, checked. */
export const RESULT_PARSERS: { [K in MonitorOp]: (v: unknown) => MonitorResults[K] } = {
  ping: (v) => {
    if (!isObj(v) || !isInt(v['pid'])) throw new ProtocolError('ping result must be {pid}');
    return { pid: v['pid'] };
  },
  start: parseState,
  state: parseState,
  wait: parseState,
  kill: () => ({}),
  delete: () => ({}),
  list: (v) => {
    if (!Array.isArray(v)) throw new ProtocolError('list result must be an array');
    return v.map(parseState);
  },
  shutdown: () => ({}),
};

/** Splits a byte stream into lines (UTF-8), for both ends of the socket. */
export class LineReader {
  private rest = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly maxLineBytes = 1024 * 1024) {}

  push(chunk: Uint8Array): string[] {
    this.rest += this.decoder.decode(chunk, { stream: true });
    const parts = this.rest.split('\n');
    this.rest = parts.pop() ?? '';
    if (this.rest.length > this.maxLineBytes) throw new ProtocolError(`a line longer than ${this.maxLineBytes} bytes`);
    return parts.filter((p) => p !== '');
  }
}
