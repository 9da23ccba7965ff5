// The dispatcher protocol (/shoal/dispatch/1): one long-lived stream per node,
// opened by the node's agent to the manager it believes leads.
//
//   agent                                   leader's dispatcher
//   register {nodeId}              ──▶
//                                  ◀──      session {role, raftId, managers, heartbeatPeriodMs}
//                                  ◀──      assignments {full: true, ...} (chunks until last)
//   heartbeat (every period)       ──▶
//                                  ◀──      session (the heartbeat's answer)
//   status {reports} (coalesced)   ──▶
//                                  ◀──      assignments {full: false, ...} (incremental)
//
// A manager that does not lead answers the register with `redirect` and
// closes; a node whose record is gone gets `removed`. The dispatcher also
// pushes `session` when what it says changes (promotion, demotion, a new
// period), and closes every stream when it stops leading: agents then
// reconnect and follow the redirect to the new leader.
//
// Both sides validate every message on receipt (parseAgentMessage,
// parseManagerMessage), with bounds on every list, so neither side can be made
// to hold an unbounded amount by the other.
import { parseNetworksMessage, type NetworksMessage } from './network-state.js';
import { InvalidArgumentError } from '../errors.js';
import type { NodeRole, Task, TaskState, TaskStatus } from '../model/index.js';
import { TASK_STATES } from '../model/task.js';
import { parseManagerPeer, type ManagerPeer } from './cluster.js';

export const PROTOCOL_DISPATCH = '/shoal/dispatch/1';

/** Tasks per assignments message: a full set of many tasks travels in several. */
export const MAX_TASKS_PER_MESSAGE = 200;
/** Removed task IDs per assignments message. */
export const MAX_REMOVED_PER_MESSAGE = 5000;
/** Status reports per status message. */
export const MAX_REPORTS_PER_MESSAGE = 500;
/** Largest message either side accepts on this protocol. */
export const MAX_DISPATCH_MESSAGE_BYTES = 8 * 1024 * 1024;

export type TaskHealth = 'starting' | 'healthy' | 'unhealthy';
export const TASK_HEALTH_STATES: readonly TaskHealth[] = ['starting', 'healthy', 'unhealthy'];

/**
 * The states an agent may report (docs/task-lifecycle.md): from accepted on,
 * never remove or orphaned, which only managers decide.
 */
export const REPORTABLE_STATES: readonly TaskState[] = [
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
];

// --- agent to manager ------------------------------------------------------

export interface RegisterMessage {
  type: 'register';
  nodeId: string;
}

export interface HeartbeatMessage {
  type: 'heartbeat';
}

/** What the agent observed of one task: its status now, and its health if the task has a healthcheck. */
export interface TaskStatusReport {
  taskId: string;
  status: TaskStatus;
  health?: TaskHealth;
}

export interface StatusMessage {
  type: 'status';
  reports: TaskStatusReport[];
}

export type AgentMessage = RegisterMessage | HeartbeatMessage | StatusMessage;

// --- manager to agent ------------------------------------------------------

/** What the node must know about itself and the swarm (what a heartbeat answer carried before streams). */
export interface SessionInfo {
  /** What the cluster wants this node to be, and the Raft id it must run as if a manager. */
  role: NodeRole;
  raftId: number;
  managers: ManagerPeer[];
  heartbeatPeriodMs: number;
}

export interface SessionMessage extends SessionInfo {
  type: 'session';
}

export interface RedirectMessage {
  type: 'redirect';
  /** Who leads, if this manager knows; null: ask again after a period. */
  leader: ManagerPeer | null;
  managers: ManagerPeer[];
}

/** The node record is gone (node rm): the node must leave. */
export interface RemovedMessage {
  type: 'removed';
}

/** The dispatcher refuses this session, saying why (e.g. the node ID belongs to another peer). */
export interface ErrorMessage {
  type: 'error';
  message: string;
}

/**
 * Tasks for the node. A full set (full: true) replaces what the agent knows
 * and may span several messages: the set is complete at the one with last:
 * true. An incremental one (full: false) adds or replaces `tasks` and drops
 * `removed` (tasks deleted from the store or moved off the node).
 */
export interface AssignmentsMessage {
  type: 'assignments';
  full: boolean;
  last: boolean;
  tasks: Task[];
  removed: string[];
}

export type ManagerMessage = SessionMessage | RedirectMessage | RemovedMessage | ErrorMessage | AssignmentsMessage | NetworksMessage;

// --- validation ----------------------------------------------------------------

type Obj = Record<string, unknown>;

function obj(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError(`${what} must be an object`);
  return v as Obj;
}
function str(o: Obj, k: string, what: string, max = 4096): string {
  const v = o[k];
  if (typeof v !== 'string' || v.length > max) throw new InvalidArgumentError(`${what}.${k} must be a string of at most ${max} characters`);
  return v;
}
function optStr(o: Obj, k: string, what: string, max = 4096): string | undefined {
  return o[k] === undefined ? undefined : str(o, k, what, max);
}
function num(o: Obj, k: string, what: string, min = 0): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new InvalidArgumentError(`${what}.${k} must be a number of at least ${min}`);
  return v;
}
function optInt(o: Obj, k: string, what: string, min = 0): number | undefined {
  if (o[k] === undefined) return undefined;
  const v = num(o, k, what, min);
  if (!Number.isInteger(v)) throw new InvalidArgumentError(`${what}.${k} must be an integer`);
  return v;
}
function bool(o: Obj, k: string, what: string): boolean {
  const v = o[k];
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`${what}.${k} must be true or false`);
  return v;
}
function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[], what: string): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`${what}.${k} must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}
function list(o: Obj, k: string, what: string, max: number): unknown[] {
  const v = o[k];
  if (!Array.isArray(v) || v.length > max) throw new InvalidArgumentError(`${what}.${k} must be a list of at most ${max} items`);
  return v;
}
function strings(o: Obj, k: string, what: string, max: number, maxLen = 4096): string[] | undefined {
  if (o[k] === undefined) return undefined;
  return list(o, k, what, max).map((s, i) => {
    if (typeof s !== 'string' || s.length > maxLen) throw new InvalidArgumentError(`${what}.${k}[${i}] must be a string of at most ${maxLen} characters`);
    return s;
  });
}
function labels(o: Obj, k: string, what: string): void {
  if (o[k] === undefined) return;
  const l = obj(o[k], `${what}.${k}`);
  const keys = Object.keys(l);
  if (keys.length > 1024) throw new InvalidArgumentError(`${what}.${k} has more than 1024 labels`);
  for (const key of keys) str(l, key, `${what}.${k}`);
}
function managers(o: Obj, what: string): ManagerPeer[] {
  return list(o, 'managers', what, 1000).map(parseManagerPeer);
}

const ID_MAX = 128;

export function parseTaskStatus(v: unknown, what: string, states: readonly TaskState[] = TASK_STATES): TaskStatus {
  const o = obj(v, what);
  const status: TaskStatus = {
    Timestamp: str(o, 'Timestamp', what, 64),
    State: oneOf(o, 'State', states, what),
    Message: str(o, 'Message', what),
  };
  const err = optStr(o, 'Err', what);
  if (err !== undefined) status.Err = err;
  if (o['ContainerStatus'] !== undefined) {
    const w = `${what}.ContainerStatus`;
    const c = obj(o['ContainerStatus'], w);
    const cs: NonNullable<TaskStatus['ContainerStatus']> = {};
    const id = optStr(c, 'ContainerID', w, 256);
    if (id !== undefined) cs.ContainerID = id;
    const pid = optInt(c, 'PID', w);
    if (pid !== undefined) cs.PID = pid;
    const code = optInt(c, 'ExitCode', w, -(2 ** 31));
    if (code !== undefined) cs.ExitCode = code;
    status.ContainerStatus = cs;
  }
  return status;
}

function parseReport(v: unknown, i: number): TaskStatusReport {
  const what = `status.reports[${i}]`;
  const o = obj(v, what);
  const r: TaskStatusReport = {
    taskId: str(o, 'taskId', what, ID_MAX),
    status: parseTaskStatus(o['status'], `${what}.status`, REPORTABLE_STATES),
  };
  if (o['health'] !== undefined) r.health = oneOf(o, 'health', TASK_HEALTH_STATES, what);
  return r;
}

export function parseAgentMessage(v: unknown): AgentMessage {
  const what = 'dispatch message';
  const o = obj(v, what);
  const type = oneOf(o, 'type', ['register', 'heartbeat', 'status'] as const, what);
  switch (type) {
    case 'register':
      return { type, nodeId: str(o, 'nodeId', 'register', 64) };
    case 'heartbeat':
      return { type };
    case 'status':
      return { type, reports: list(o, 'reports', 'status', MAX_REPORTS_PER_MESSAGE).map(parseReport) };
  }
}

/**
 * A task as the agent relies on it: identity, states, and the container spec
 * fields the agent and executors read. Everything else passes through as sent.
 */
export function parseTask(v: unknown, what = 'task'): Task {
  const o = obj(v, what);
  str(o, 'ID', what, ID_MAX);
  str(o, 'ServiceID', what, ID_MAX);
  optStr(o, 'NodeID', what, ID_MAX);
  optStr(o, 'Name', what, 512);
  optInt(o, 'Slot', what);
  oneOf(o, 'DesiredState', TASK_STATES, what);
  parseTaskStatus(o['Status'], `${what}.Status`);
  const spec = obj(o['Spec'], `${what}.Spec`);
  if (spec['ContainerSpec'] !== undefined) {
    const w = `${what}.Spec.ContainerSpec`;
    const c = obj(spec['ContainerSpec'], w);
    str(c, 'Image', w);
    strings(c, 'Env', w, 10_000, 128 * 1024);
    strings(c, 'Command', w, 10_000);
    strings(c, 'Args', w, 10_000);
    labels(c, 'Labels', w);
    optStr(c, 'StopSignal', w, 32);
    if (c['StopGracePeriod'] !== undefined) num(c, 'StopGracePeriod', w);
    if (c['HealthCheck'] !== undefined) {
      const hw = `${w}.HealthCheck`;
      const h = obj(c['HealthCheck'], hw);
      strings(h, 'Test', hw, 1000);
      for (const k of ['Interval', 'Timeout', 'Retries', 'StartPeriod', 'StartInterval']) if (h[k] !== undefined) num(h, k, hw);
    }
  }
  return o as unknown as Task;
}

export function parseManagerMessage(v: unknown): ManagerMessage {
  const what = 'dispatch message';
  const o = obj(v, what);
  const type = oneOf(o, 'type', ['session', 'redirect', 'removed', 'error', 'assignments', 'networks'] as const, what);
  switch (type) {
    case 'session':
      return {
        type,
        role: oneOf(o, 'role', ['worker', 'manager'] as const, 'session'),
        raftId: num(o, 'raftId', 'session'),
        managers: managers(o, 'session'),
        heartbeatPeriodMs: num(o, 'heartbeatPeriodMs', 'session', 1),
      };
    case 'redirect':
      return { type, leader: o['leader'] === null ? null : parseManagerPeer(o['leader']), managers: managers(o, 'redirect') };
    case 'removed':
      return { type };
    case 'error':
      return { type, message: str(o, 'message', 'error') };
    case 'networks':
      return parseNetworksMessage(v);
    case 'assignments':
      return {
        type,
        full: bool(o, 'full', 'assignments'),
        last: bool(o, 'last', 'assignments'),
        tasks: list(o, 'tasks', 'assignments', MAX_TASKS_PER_MESSAGE).map((t, i) => parseTask(t, `assignments.tasks[${i}]`)),
        removed: list(o, 'removed', 'assignments', MAX_REMOVED_PER_MESSAGE).map((id, i) => {
          if (typeof id !== 'string' || id.length > ID_MAX) throw new InvalidArgumentError(`assignments.removed[${i}] must be a task ID`);
          return id;
        }),
      };
  }
}
