// The daemon endpoints the cluster commands use, typed with the shared Docker model.
// The daemon serves exactly these shapes, so answers are checked only for their outer
// form (object, array, string): a daemon answering something else fails loudly here
// instead of printing "undefined" further down.

import { ShoalError } from '../../shared/errors.js';
import { array, object, seg, unexpected } from './answers.js';
import type { Node, NodeSpec, Swarm, SwarmSpec } from '../../shared/model/index.js';
import type { SwarmInitRequest, SwarmJoinRequest } from '../../manager/api/backend.js';
import { encodeFilters, type Filters } from '../format/filters.js';
import type { InfoResponse } from '../format/info.js';
import type { TaskLike } from '../format/tasks.js';
import type { ServerVersion } from '../format/version.js';
import type { DaemonClient } from '../http-client.js';

// init and join wait for the cluster (a Raft election, a round trip to a manager); give
// them longer than ordinary reads before calling the daemon stuck.
const SLOW_OPERATION_MS = 120_000;


export class ClusterApi {
  constructor(readonly client: DaemonClient) {}

  async version(): Promise<ServerVersion> {
    return object<ServerVersion>(await this.client.get('/version'), 'GET /version');
  }

  async info(): Promise<InfoResponse> {
    return object<InfoResponse>(await this.client.get('/info'), 'GET /info');
  }

  /** POST /swarm/init; the new node's ID. */
  async init(req: SwarmInitRequest): Promise<string> {
    const id = await this.client.post('/swarm/init', req, undefined, SLOW_OPERATION_MS);
    if (typeof id !== 'string') throw unexpected('POST /swarm/init');
    return id;
  }

  async join(req: SwarmJoinRequest): Promise<void> {
    await this.client.post('/swarm/join', req, undefined, SLOW_OPERATION_MS);
  }

  async leave(force: boolean): Promise<void> {
    await this.client.post('/swarm/leave', undefined, force ? { force: true } : undefined, SLOW_OPERATION_MS);
  }

  async inspectSwarm(): Promise<Swarm> {
    return object<Swarm>(await this.client.get('/swarm'), 'GET /swarm');
  }

  async updateSwarm(version: number, spec: SwarmSpec, rotate: { worker?: boolean; manager?: boolean } = {}): Promise<void> {
    await this.client.post('/swarm/update', spec, {
      version,
      rotateWorkerToken: rotate.worker === true,
      rotateManagerToken: rotate.manager === true,
      rotateManagerUnlockKey: false,
    });
  }

  async listNodes(filters: Filters = {}): Promise<Node[]> {
    return array<Node>(await this.client.get('/nodes', { filters: encodeFilters(filters) }), 'GET /nodes');
  }

  async inspectNode(ref: string): Promise<Node> {
    return object<Node>(await this.client.get(`/nodes/${seg(ref)}`), `GET /nodes/${ref}`);
  }

  async updateNode(id: string, version: number, spec: NodeSpec): Promise<void> {
    await this.client.post(`/nodes/${seg(id)}/update`, spec, { version });
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    await this.client.delete(`/nodes/${seg(ref)}`, force ? { force: true } : undefined);
  }

  async listTasks(filters: Filters): Promise<TaskLike[]> {
    return array<TaskLike>(await this.client.get('/tasks', { filters: encodeFilters(filters) }), 'GET /tasks');
  }

  /** A service's name, for task names; undefined when it cannot be looked up. */
  async serviceName(id: string): Promise<string | undefined> {
    try {
      const svc = object<{ Spec?: { Name?: string } }>(await this.client.get(`/services/${seg(id)}`), 'GET /services');
      return svc.Spec?.Name || undefined;
    } catch {
      // docker's idresolver falls back to the ID too.
      return undefined;
    }
  }

  /** The ID of the node this daemon runs as (docker's "self"). */
  async selfNodeId(): Promise<string> {
    return (await this.info()).Swarm?.NodeID ?? '';
  }

  /** docker's node.Reference: "self" names the local node. */
  async resolveNodeRef(ref: string): Promise<string> {
    if (ref !== 'self') return ref;
    const id = await this.selfNodeId();
    if (id !== '') return id;
    // Like docker: a swarm endpoint explains best why there is no node ("not a manager"...).
    await this.listNodes();
    throw new ShoalError('not_found', 'node ID not found in /info', 404);
  }
}
