// The swarm and node operations of the API, as a manager carries them out:
// linearizable reads of the store, and writes as versioned transactions
// (a stale Version.Index is rejected when the entry applies, on every replica).
import { InvalidArgumentError } from '../shared/errors.js';
import type { Node, NodeRecord, NodeSpec, Swarm, SwarmSpec } from '../shared/model/index.js';
import type { SwarmRotate } from './api/backend.js';
import type { Manager } from './manager.js';
import { newSecret } from './membership/tokens.js';
import { withSwarmDefaults } from './swarm-spec.js';
import { resolveNode, toApiNode, toApiSwarm } from './views.js';

export class ClusterControl {
  constructor(private readonly m: Manager) {}

  async inspectSwarm(): Promise<Swarm> {
    await this.m.store.readLinearizable(() => undefined);
    const c = this.m.cluster();
    if (!c) throw new InvalidArgumentError('the swarm has no cluster object yet; retry in a moment');
    return toApiSwarm(c);
  }

  async updateSwarm(version: number, spec: SwarmSpec, rotate: SwarmRotate): Promise<void> {
    await this.m.store.readLinearizable(() => undefined);
    const c = this.m.cluster();
    if (!c) throw new InvalidArgumentError('the swarm has no cluster object yet; retry in a moment');
    const internal = { ...c.Internal };
    if (rotate.rotateWorkerToken) internal.WorkerSecret = newSecret();
    if (rotate.rotateManagerToken) internal.ManagerSecret = newSecret();
    // Spec replaces the whole spec, as in Docker; the name cannot change.
    const next = { ...c, Spec: withSwarmDefaults({ ...spec, Name: c.Spec.Name }), Internal: internal };
    await this.m.store.update((tx) => {
      tx.update('cluster', next, version);
    });
  }

  async listNodes(): Promise<Node[]> {
    await this.m.store.readLinearizable(() => undefined);
    const view = this.m.raftView();
    return this.m.nodes().map((n) => toApiNode(n, view));
  }

  async inspectNode(ref: string): Promise<Node> {
    await this.m.store.readLinearizable(() => undefined);
    return toApiNode(resolveNode(this.m.nodes(), ref), this.m.raftView());
  }

  async updateNode(ref: string, version: number, spec: NodeSpec): Promise<void> {
    await this.m.store.readLinearizable(() => undefined);
    const nodes = this.m.nodes();
    const n = resolveNode(nodes, ref);
    if (n.Spec.Role === 'manager' && spec.Role === 'worker') {
      const managers = nodes.filter((x) => x.Spec.Role === 'manager');
      if (managers.length <= 1) throw new InvalidArgumentError('attempting to demote the last manager of the swarm');
    }
    await this.m.store.update((tx) => {
      tx.update('nodes', { ...n, Spec: { ...spec } }, version);
    });
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    await this.m.store.readLinearizable(() => undefined);
    const n: NodeRecord = resolveNode(this.m.nodes(), ref);
    // As in swarmkit: a node that is still meant to be a manager must be demoted first;
    // one already demoted may go while its Raft seat is being handed back.
    if (n.Spec.Role === 'manager') {
      throw new InvalidArgumentError(
        `node ${n.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
      );
    }
    if (n.Status.State === 'ready' && !force) {
      throw new InvalidArgumentError(`node ${n.ID} is not down and can't be removed (stop its daemon first, or use --force)`);
    }
    await this.m.store.update((tx) => {
      tx.delete('nodes', n.ID);
    });
  }

  /** Counts for GET /info's Swarm section. */
  counts(): { nodes: number; managers: number } {
    const nodes = this.m.nodes();
    return { nodes: nodes.length, managers: nodes.filter((n) => n.Internal.RaftID !== 0).length };
  }
}
