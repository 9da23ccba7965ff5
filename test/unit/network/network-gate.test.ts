// An attach waits for the manager's word on its networks, then goes through.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NetworksMessage, OverlayNetworkState } from '../../../shared/protocol/network-state.js';
import { NetworkGate } from '../../../worker/network/network-gate.js';
import type { AttachedNetwork, AttachRequest, NetworkDataPlane } from '../../../worker/network/types.js';

class RecordingPlane implements NetworkDataPlane {
  readonly calls: string[] = [];
  async apply(s: NetworksMessage): Promise<void> {
    this.calls.push(`apply ${s.networks.map((n) => n.id).join(',')}`);
  }
  async attach(r: AttachRequest): Promise<AttachedNetwork> {
    this.calls.push(`attach ${r.containerId}`);
    return { namespacePath: `/run/netns/${r.containerId}`, addresses: [], nameservers: [] };
  }
  async detach(id: string): Promise<void> {
    this.calls.push(`detach ${id}`);
  }
  async close(): Promise<void> {}
}

const net = (id: string): OverlayNetworkState => ({ id, name: id, vni: 4097, subnet: '10.0.1.0/24', gateway: '10.0.1.1', mtu: 1450, internal: false, ingress: false, nodeAddress: '10.0.1.250/24', peers: [], services: [] });
const req = (ids: string[]): AttachRequest => ({ taskId: 't', containerId: 'c1', attachments: ids.map((id) => ({ Network: { ID: id, Spec: { Name: `net-${id}` } }, Addresses: ['10.0.1.3/24'] })) });

test('an attach for a network the node has not heard of waits for it', async () => {
  const inner = new RecordingPlane();
  const gate = new NetworkGate(inner, 5000);
  const attached = gate.attach(req(['n1']));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(inner.calls, [], 'nothing attached before the network is known');
  await gate.apply({ type: 'networks', dataPathPort: 4789, networks: [net('n1')] });
  assert.equal((await attached).namespacePath, '/run/netns/c1');
  assert.deepEqual(inner.calls, ['apply n1', 'attach c1']);
});

test('an attach for a known network goes at once; one that never comes fails with the network named', async () => {
  const inner = new RecordingPlane();
  const gate = new NetworkGate(inner, 50);
  await gate.apply({ type: 'networks', dataPathPort: 4789, networks: [net('n1')] });
  await gate.attach(req(['n1']));
  await assert.rejects(gate.attach(req(['n1', 'n9'])), /network net-n9 is not set up on this node yet/);
});
