// Messages of the cluster protocols between daemons (request/response over
// libp2p, msgpackr-framed; node sessions with the dispatcher are in dispatch.ts). Both manager/ and worker/ speak them, so they
// live here. Every message is validated on receipt: a peer is not trusted to
// send well-formed data just because it got through the guard.
import { InvalidArgumentError } from '../errors.js';
import type { NodeAvailability, NodeRole, Platform, ResourceObject } from '../model/index.js';

export const PROTOCOL_JOIN = '/shoal/join/1';
/** Manager to leader: admit a joiner on its behalf (managers only). */
export const PROTOCOL_ADMIT = '/shoal/admit/1';
/** Manager to leader: propose an encoded store transaction (managers only). */
export const PROTOCOL_PROPOSE = '/shoal/propose/1';
/** Manager to manager: liveness probe behind MANAGER STATUS Reachable/Unreachable. */
export const PROTOCOL_PING = '/shoal/ping/1';

/** A manager as members know it: enough to dial it and to map Raft ids. */
export interface ManagerPeer {
  nodeId: string;
  peerId: string;
  /** Multiaddr of its cluster listener. */
  addr: string;
  raftId: number;
}

export interface JoinRequest {
  token: string;
  /** Random bytes the cluster signs, proving it holds the key the token's fingerprint names. */
  nonce: Uint8Array;
  hostname: string;
  /** Multiaddr where the joiner's cluster listener is reachable. */
  advertiseAddr: string;
  availability: NodeAvailability;
  platform: Platform;
  resources: ResourceObject;
  engineVersion: string;
  engineLabels: Record<string, string>;
}

export interface JoinResponse {
  nodeId: string;
  clusterId: string;
  role: NodeRole;
  /** Nonzero when joining as a manager: the Raft id to start with. */
  raftId: number;
  managers: ManagerPeer[];
  /** Ed25519 public key (raw, 32 bytes) and its signature over the request nonce. */
  clusterPublicKey: Uint8Array;
  signature: Uint8Array;
}

export interface AdmitRequest {
  join: JoinRequest;
  /** The joiner's peer id as the relaying manager's connection authenticated it. */
  peerId: string;
}

export interface ProposeRequest {
  data: Uint8Array;
}

// --- validation ----------------------------------------------------------

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
function num(o: Obj, k: string, what: string): number {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${what}.${k} must be a non-negative number`);
  return v;
}
function bytes(o: Obj, k: string, what: string, max = 1024): Uint8Array {
  const v = o[k];
  if (!(v instanceof Uint8Array) || v.byteLength > max) throw new InvalidArgumentError(`${what}.${k} must be at most ${max} bytes`);
  return v;
}
function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[], what: string): T {
  const v = o[k];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`${what}.${k} must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}
function labels(o: Obj, k: string, what: string): Record<string, string> {
  const l = obj(o[k], `${what}.${k}`);
  const out: Record<string, string> = {};
  const keys = Object.keys(l);
  if (keys.length > 256) throw new InvalidArgumentError(`${what}.${k} has more than 256 labels`);
  for (const key of keys) {
    if (key.length > 1024) throw new InvalidArgumentError(`${what}.${k} has a label key longer than 1024 characters`);
    out[key] = str(l, key, `${what}.${k}`);
  }
  return out;
}

export function parseJoinRequest(v: unknown): JoinRequest {
  const o = obj(v, 'join request');
  const w = 'join request';
  const platform = obj(o['platform'], `${w}.platform`);
  const resources = obj(o['resources'], `${w}.resources`);
  return {
    token: str(o, 'token', w, 256),
    nonce: bytes(o, 'nonce', w, 64),
    hostname: str(o, 'hostname', w, 255),
    advertiseAddr: str(o, 'advertiseAddr', w, 512),
    availability: oneOf(o, 'availability', ['active', 'pause', 'drain'] as const, w),
    platform: { Architecture: str(platform, 'Architecture', `${w}.platform`, 64), OS: str(platform, 'OS', `${w}.platform`, 64) },
    resources: { NanoCPUs: num(resources, 'NanoCPUs', `${w}.resources`), MemoryBytes: num(resources, 'MemoryBytes', `${w}.resources`) },
    engineVersion: str(o, 'engineVersion', w, 64),
    engineLabels: labels(o, 'engineLabels', w),
  };
}

export function parseManagerPeer(v: unknown): ManagerPeer {
  const o = obj(v, 'manager');
  return {
    nodeId: str(o, 'nodeId', 'manager', 64),
    peerId: str(o, 'peerId', 'manager', 128),
    addr: str(o, 'addr', 'manager', 512),
    raftId: num(o, 'raftId', 'manager'),
  };
}

function managers(o: Obj, what: string): ManagerPeer[] {
  const list = o['managers'];
  if (!Array.isArray(list) || list.length > 1000) throw new InvalidArgumentError(`${what}.managers must be a list`);
  return list.map(parseManagerPeer);
}

export function parseJoinResponse(v: unknown): JoinResponse {
  const o = obj(v, 'join response');
  const w = 'join response';
  return {
    nodeId: str(o, 'nodeId', w, 64),
    clusterId: str(o, 'clusterId', w, 64),
    role: oneOf(o, 'role', ['worker', 'manager'] as const, w),
    raftId: num(o, 'raftId', w),
    managers: managers(o, w),
    clusterPublicKey: bytes(o, 'clusterPublicKey', w, 64),
    signature: bytes(o, 'signature', w, 128),
  };
}

export function parseAdmitRequest(v: unknown): AdmitRequest {
  const o = obj(v, 'admit request');
  return { join: parseJoinRequest(o['join']), peerId: str(o, 'peerId', 'admit request', 128) };
}

export function parseProposeRequest(v: unknown, maxBytes: number): ProposeRequest {
  const o = obj(v, 'propose request');
  return { data: bytes(o, 'data', 'propose request', maxBytes) };
}
