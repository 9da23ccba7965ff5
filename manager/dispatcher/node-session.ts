// One agent's stream, as the leader's dispatcher sees it. It never queues
// messages: it keeps what the agent is owed (an answer to a heartbeat, a
// changed session info, the IDs of tasks that changed since they were last
// sent, or a whole new set) and turns that into messages only while the
// stream takes them. A slow agent therefore costs at most one entry per task
// of its node, however many changes pile up; past `maxDirty` even that is
// dropped for a fresh full set once the agent catches up.
import type { Logger } from '../../shared/logger.js';
import type { TaskRecord } from '../../shared/model/index.js';
import type { MessageStream } from '../../shared/p2p/host.js';
import { MAX_TASKS_PER_MESSAGE, type ManagerMessage, type SessionInfo } from '../../shared/protocol/dispatch.js';
import type { NetworksMessage } from '../../shared/protocol/network-state.js';
import type { StoreView } from '../store/memory-store.js';
import { assignmentKey, isAssignedTo, toAssigned } from './assignments.js';

export interface NodeSessionOptions {
  nodeId: string;
  peerId: string;
  stream: MessageStream;
  view: StoreView;
  /** What the node must know now; undefined once its record is gone. */
  info: () => SessionInfo | undefined;
  log: Logger;
  now: number;
  /** The node's overlay networks now (shared by every session of a sweep); absent: none are sent. */
  networks?: () => NetworksMessage;
  /** Changed task IDs remembered at most before falling back to a full set (default 10000). */
  maxDirty?: number;
  /** Tasks per assignments message (default MAX_TASKS_PER_MESSAGE). */
  chunk?: number;
}

/**
 * Rough bytes of tasks per assignments message: well under the receiver's
 * MAX_DISPATCH_MESSAGE_BYTES even with one task as big as the API accepts.
 */
const CHUNK_BYTES = 2 * 1024 * 1024;

/** A task's size on the wire, roughly (msgpack is a little smaller than JSON). */
function approxBytes(t: TaskRecord): number {
  return JSON.stringify(t).length;
}

export class NodeSession {
  readonly nodeId: string;
  readonly peerId: string;
  /** Last time anything arrived from the agent. */
  lastSeen: number;
  /** What the agent was told about each task it has: assignmentKey at the time. */
  private readonly known = new Map<string, string>();
  private dirty = new Set<string>();
  private resync = true;
  /** The rest of a full set being sent. */
  private fullQueue: TaskRecord[] | undefined;
  private infoOwed = true;
  private networksCheck = true;
  private lastNetworks = '';
  private infoCheck = false;
  private lastInfo = '';
  private blocked = false;
  private ended = false;
  private readonly maxDirty: number;
  private readonly chunk: number;

  constructor(private readonly o: NodeSessionOptions) {
    this.nodeId = o.nodeId;
    this.peerId = o.peerId;
    this.lastSeen = o.now;
    this.maxDirty = o.maxDirty ?? 10_000;
    this.chunk = Math.max(1, Math.min(o.chunk ?? MAX_TASKS_PER_MESSAGE, MAX_TASKS_PER_MESSAGE));
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Tasks the agent has been told about, and what is owed it (for tests). */
  get backlog(): { known: number; changed: number; fullSetDue: boolean } {
    return { known: this.known.size, changed: this.dirty.size, fullSetDue: this.resync };
  }

  /** Something is owed and the stream could take it now. */
  get hasWork(): boolean {
    return (
      !this.ended &&
      (this.infoOwed || this.infoCheck || this.networksCheck || this.resync || this.fullQueue !== undefined || this.dirty.size > 0)
    );
  }

  /** A task on (or just moved off) this node changed. */
  taskChanged(taskId: string): void {
    if (this.ended || this.resync) return;
    this.dirty.add(taskId);
    if (this.dirty.size > this.maxDirty) {
      this.o.log.debug({ node: this.nodeId, changes: this.dirty.size }, 'agent fell behind on assignments; a full set follows');
      this.dirty = new Set();
      this.resync = true;
    }
  }

  /** Send the whole set again (the store was replaced by a snapshot). */
  resyncAll(): void {
    this.dirty = new Set();
    this.resync = true;
  }

  /** A heartbeat arrived: it is answered with the session info, changed or not. */
  heartbeat(now: number): void {
    this.lastSeen = now;
    this.infoOwed = true;
  }

  /** The node, the managers or the swarm changed: send the info if it differs from what was sent. */
  infoMayHaveChanged(): void {
    this.infoCheck = true;
  }

  /** A network, a service or an attached task changed: send the node's networks if they differ from what was sent. */
  networksMayHaveChanged(): void {
    if (this.o.networks !== undefined) this.networksCheck = true;
  }

  /** Send what is owed while the stream takes it. */
  pump(): void {
    while (!this.blocked && !this.ended) {
      const msg = this.next();
      if (msg === undefined) return;
      let more: boolean;
      try {
        more = this.o.stream.send(msg);
      } catch (err) {
        this.abort(`cannot send to the agent: ${errMessage(err)}`);
        return;
      }
      if (!more) {
        this.blocked = true;
        this.o.stream.onDrain().then(
          () => {
            this.blocked = false;
            this.pump();
          },
          (err: unknown) => this.abort(`the stream to the agent failed: ${errMessage(err)}`),
        );
      }
    }
  }

  /** Last words (redirect, removed, error) and close our end; nothing more is sent. */
  finish(last?: ManagerMessage): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    try {
      if (last !== undefined && this.o.stream.writable) this.o.stream.send(last);
    } catch {
      // The agent finds out from the close anyway.
    }
    void this.o.stream.close().catch(() => undefined);
  }

  abort(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    this.o.log.debug({ node: this.nodeId, reason }, 'dispatcher session aborted');
    this.o.stream.abort(new Error(reason));
  }

  private release(): void {
    this.known.clear();
    this.dirty = new Set();
    this.fullQueue = undefined;
  }

  private next(): ManagerMessage | undefined {
    if (this.infoOwed || this.infoCheck) {
      const owed = this.infoOwed;
      this.infoOwed = false;
      this.infoCheck = false;
      const info = this.o.info();
      if (info !== undefined) {
        const key = JSON.stringify(info);
        if (owed || key !== this.lastInfo) {
          this.lastInfo = key;
          return { type: 'session', ...info };
        }
      }
    }
    // Before assignments: a task's network must exist on the node before the task starts.
    if (this.networksCheck && this.fullQueue === undefined) {
      this.networksCheck = false;
      const msg = this.o.networks?.();
      if (msg !== undefined) {
        const key = JSON.stringify(msg);
        // A node never told of a network needs no word that it has none.
        const nothingNew = this.lastNetworks === '' && msg.networks.length === 0;
        if (key !== this.lastNetworks && !nothingNew) {
          this.lastNetworks = key;
          return msg;
        }
      }
    }
    // A full set in progress is finished before anything else, so the agent
    // never has to tell two full sets apart.
    if (this.fullQueue === undefined && this.resync) this.beginFullSet();
    if (this.fullQueue !== undefined) {
      let n = 0;
      let bytes = 0;
      while (n < this.fullQueue.length && n < this.chunk) {
        bytes += approxBytes(this.fullQueue[n]!);
        if (n > 0 && bytes > CHUNK_BYTES) break;
        n++;
      }
      const tasks = this.fullQueue.splice(0, n);
      const last = this.fullQueue.length === 0;
      if (last) this.fullQueue = undefined;
      return { type: 'assignments', full: true, last, tasks: tasks.map(toAssigned), removed: [] };
    }
    if (this.dirty.size > 0) return this.incremental();
    return undefined;
  }

  private beginFullSet(): void {
    this.resync = false;
    // Changes so far are part of this set; later ones follow as increments.
    this.dirty = new Set();
    this.known.clear();
    const tasks = this.o.view.find('tasks', 'node', this.nodeId).filter((t) => isAssignedTo(t, this.nodeId));
    for (const t of tasks) this.known.set(t.ID, assignmentKey(t));
    this.fullQueue = tasks;
  }

  private incremental(): ManagerMessage | undefined {
    const tasks: TaskRecord[] = [];
    const removed: string[] = [];
    let bytes = 0;
    for (const id of this.dirty) {
      if (tasks.length >= this.chunk || removed.length >= this.chunk || bytes > CHUNK_BYTES) break;
      this.dirty.delete(id);
      const t = this.o.view.get('tasks', id);
      if (t !== undefined && isAssignedTo(t, this.nodeId)) {
        const key = assignmentKey(t);
        if (this.known.get(id) === key) continue;
        this.known.set(id, key);
        tasks.push(t);
        bytes += approxBytes(t);
      } else if (this.known.delete(id)) {
        removed.push(id);
      }
    }
    // The loop only stops early once it has something to send.
    if (tasks.length === 0 && removed.length === 0) return undefined;
    return { type: 'assignments', full: false, last: true, tasks: tasks.map(toAssigned), removed };
  }
}

function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
