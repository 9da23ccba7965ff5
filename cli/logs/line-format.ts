// Turns a log line as the daemon sends it with details ("[time ]k=v,k=v line")
// into what `docker service logs` prints: "[time ]web.1.abcdefghijkl@node    | line"
// (cli/command/service/logs.go in docker/cli). Names come from the daemon,
// asked once per task, service and node.
import { ShoalError } from '../../shared/errors.js';

export interface LineFormatOptions {
  timestamps: boolean;
  /** Print the details left after the context keys. */
  details: boolean;
  taskIds: boolean;
  trunc: boolean;
  /** Width of the widest slot number, so the `|` columns line up. */
  slotWidth: number;
}

/** Names for IDs (with --no-resolve, the IDs themselves). */
export interface NameSource {
  nodeName(id: string): Promise<string>;
  serviceName(id: string): Promise<string>;
  /** The task's slot; throws when the task cannot be found. */
  taskSlot(id: string): Promise<number>;
}

const NODE_KEY = 'com.docker.swarm.node.id';
const SERVICE_KEY = 'com.docker.swarm.service.id';
const TASK_KEY = 'com.docker.swarm.task.id';

/** Go's url.QueryUnescape. */
export function queryUnescape(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '+') bytes.push(0x20);
    else if (c === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new ShoalError('bad_response', `invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`, 502);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(...Buffer.from(c));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** docker/cli's ParseLogDetails: "k=v,l=w", keys and values query-escaped. */
export function parseLogDetails(details: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of details.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ShoalError('bad_response', 'invalid details format', 502);
    out.set(queryUnescape(pair.slice(0, eq)), queryUnescape(pair.slice(eq + 1)));
  }
  return out;
}

export class LineFormatter {
  private readonly prefixes = new Map<string, string>();

  constructor(
    private readonly o: LineFormatOptions,
    private readonly names: NameSource,
  ) {}

  async format(payload: Buffer): Promise<Buffer> {
    const parts = splitN(payload, this.o.timestamps ? 3 : 2);
    if (parts === undefined) throw new ShoalError('bad_response', `invalid context in log message: ${payload.toString()}`, 502);
    const detailsAt = this.o.timestamps ? 1 : 0;
    const details = parseLogDetails(parts[detailsAt]!.toString());
    const take = (key: string, what: string): string => {
      const v = details.get(key);
      if (v === undefined) throw new ShoalError('bad_response', `missing ${what} in details: ${[...details].map(([k, val]) => `${k}:${val}`).join(' ')}`, 502);
      details.delete(key);
      return v;
    };
    const nodeId = take(NODE_KEY, 'node id');
    const serviceId = take(SERVICE_KEY, 'service id');
    const taskId = take(TASK_KEY, 'task id');
    let out = this.o.timestamps ? `${parts[0]!.toString()} ` : '';
    out += `${await this.prefix(nodeId, serviceId, taskId)}    | `;
    if (this.o.details) out += `${[...details].map(([k, v]) => `${k}=${v}`).sort().join(',')} `;
    return Buffer.concat([Buffer.from(out), parts[detailsAt + 1]!]);
  }

  /** `web.1.abcdefghijkl@node` plus padding, once per task. */
  private async prefix(nodeId: string, serviceId: string, taskId: string): Promise<string> {
    const key = `${nodeId}\0${serviceId}\0${taskId}`;
    const cached = this.prefixes.get(key);
    if (cached !== undefined) return cached;
    const [node, service, slot] = await Promise.all([this.names.nodeName(nodeId), this.names.serviceName(serviceId), this.names.taskSlot(taskId)]);
    let name = `${service}.${slot}`;
    if (this.o.taskIds) name += `.${this.o.trunc ? taskId.slice(0, 12) : taskId}`;
    const pad = ' '.repeat(Math.max(0, this.o.slotWidth - String(slot).length));
    const formatted = `${name}@${node}${pad}`;
    this.prefixes.set(key, formatted);
    return formatted;
  }
}

/** Go's bytes.SplitN(buf, " ", n), or undefined when there are fewer than n parts. */
function splitN(buf: Buffer, n: number): Buffer[] | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  while (parts.length < n - 1) {
    const sp = buf.indexOf(0x20, at);
    if (sp === -1) return undefined;
    parts.push(buf.subarray(at, sp));
    at = sp + 1;
  }
  parts.push(buf.subarray(at));
  return parts;
}
