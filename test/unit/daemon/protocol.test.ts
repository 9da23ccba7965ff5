import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../../shared/errors.js';
import {
  parseAdmitRequest,
  parseJoinRequest,
  parseJoinResponse,
  parseManagerPeer,
  parseProposeRequest,
} from '../../../shared/protocol/cluster.js';

type Obj = Record<string, unknown>;

function joinRequest(): Obj {
  return {
    token: `SWMTKN-1-${'a'.repeat(50)}-${'b'.repeat(25)}`,
    nonce: new Uint8Array(32).fill(1),
    hostname: 'wrk-1',
    advertiseAddr: '/ip4/10.0.0.2/tcp/2377',
    availability: 'active',
    platform: { Architecture: 'x86_64', OS: 'linux' },
    resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 },
    engineVersion: '0.1.0',
    engineLabels: { storage: 'ssd' },
  };
}

function peer(n = 1): Obj {
  return { nodeId: `node${n}`, peerId: `12D3KooPeer${n}`, addr: `/ip4/10.0.0.${n}/tcp/2377`, raftId: n };
}

/** The rejection is an InvalidArgumentError naming the offending field. */
function rejects(fn: () => unknown, field: string, why: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError, `${why}: got ${String(err)}`);
    assert.equal(err.status, 400);
    assert.ok(err.message.includes(field), `${why}: message "${err.message}" should name ${field}`);
    return true;
  }, why);
}

function withField(base: Obj, path: readonly string[], value: unknown): Obj {
  const copy = structuredClone(base);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k] as Obj;
  const last = path[path.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return copy;
}

test('parseJoinRequest accepts a well-formed request and keeps only known fields', () => {
  const req = parseJoinRequest({ ...joinRequest(), extra: 'ignored' });
  assert.equal(req.hostname, 'wrk-1');
  assert.equal(req.availability, 'active');
  assert.deepEqual(req.platform, { Architecture: 'x86_64', OS: 'linux' });
  assert.deepEqual(req.resources, { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 });
  assert.deepEqual(req.engineLabels, { storage: 'ssd' });
  assert.equal('extra' in req, false);
  // msgpackr hands binary over as a Buffer: a Uint8Array subclass is fine.
  assert.equal(parseJoinRequest(withField(joinRequest(), ['nonce'], Buffer.alloc(64))).nonce.byteLength, 64);
});

test('parseJoinRequest rejects wrong types, missing fields and oversized fields', () => {
  const cases: Array<[readonly string[], unknown, string]> = [
    [['token'], 42, 'token'],
    [['token'], undefined, 'token'],
    [['token'], 'x'.repeat(257), 'token'],
    [['nonce'], 'abc', 'nonce'],
    [['nonce'], [1, 2, 3], 'nonce'],
    [['nonce'], new Uint8Array(65), 'nonce'],
    [['hostname'], 'h'.repeat(256), 'hostname'],
    [['hostname'], null, 'hostname'],
    [['advertiseAddr'], 'a'.repeat(513), 'advertiseAddr'],
    [['availability'], 'paused', 'availability'],
    [['availability'], undefined, 'availability'],
    [['platform'], 'linux', 'platform'],
    [['platform'], null, 'platform'],
    [['platform', 'OS'], 7, 'OS'],
    [['platform', 'Architecture'], 'x'.repeat(65), 'Architecture'],
    [['resources'], [], 'resources'],
    [['resources', 'NanoCPUs'], -1, 'NanoCPUs'],
    [['resources', 'NanoCPUs'], '4', 'NanoCPUs'],
    [['resources', 'MemoryBytes'], Number.NaN, 'MemoryBytes'],
    [['resources', 'MemoryBytes'], Number.POSITIVE_INFINITY, 'MemoryBytes'],
    [['engineVersion'], 'v'.repeat(65), 'engineVersion'],
    [['engineLabels'], undefined, 'engineLabels'],
    [['engineLabels'], ['a'], 'engineLabels'],
    [['engineLabels', 'storage'], 5, 'engineLabels'],
    [['engineLabels', 'storage'], 's'.repeat(4097), 'engineLabels'],
  ];
  for (const [path, value, field] of cases) {
    rejects(() => parseJoinRequest(withField(joinRequest(), path, value)), field, `${path.join('.')} = ${String(value).slice(0, 20)}`);
  }
  for (const notObject of [null, undefined, 'req', 5, [joinRequest()]]) {
    rejects(() => parseJoinRequest(notObject), 'join request', `request ${String(notObject)}`);
  }
});

test('parseJoinRequest bounds the labels: their number and their keys', () => {
  const many: Record<string, string> = {};
  for (let i = 0; i < 257; i++) many[`k${i}`] = 'v';
  rejects(() => parseJoinRequest(withField(joinRequest(), ['engineLabels'], many)), 'engineLabels', '257 labels');
  delete many['k256'];
  assert.equal(Object.keys(parseJoinRequest(withField(joinRequest(), ['engineLabels'], many)).engineLabels).length, 256);
  rejects(
    () => parseJoinRequest(withField(joinRequest(), ['engineLabels'], { ['k'.repeat(1025)]: 'v' })),
    'engineLabels',
    'an oversized label key',
  );
});

test('parseManagerPeer and the managers list', () => {
  assert.deepEqual(parseManagerPeer(peer(3)), peer(3));
  rejects(() => parseManagerPeer({ ...peer(), raftId: -1 }), 'raftId', 'negative raft id');
  rejects(() => parseManagerPeer({ ...peer(), raftId: '1' }), 'raftId', 'string raft id');
  rejects(() => parseManagerPeer({ ...peer(), nodeId: 'n'.repeat(65) }), 'nodeId', 'long node id');
  rejects(() => parseManagerPeer({ ...peer(), peerId: 'p'.repeat(129) }), 'peerId', 'long peer id');
  rejects(() => parseManagerPeer({ ...peer(), addr: undefined }), 'addr', 'no addr');
  rejects(() => parseManagerPeer('peer'), 'manager', 'not an object');

  const resp = {
    nodeId: 'n1',
    clusterId: 'c1',
    role: 'manager',
    raftId: 7,
    managers: [peer(1), peer(2)],
    clusterPublicKey: new Uint8Array(32),
    signature: new Uint8Array(64),
  };
  assert.deepEqual(parseJoinResponse(resp).managers, [peer(1), peer(2)]);
  rejects(() => parseJoinResponse({ ...resp, managers: 'm' }), 'managers', 'managers not a list');
  rejects(() => parseJoinResponse({ ...resp, managers: Array.from({ length: 1001 }, () => peer()) }), 'managers', '1001 managers');
  rejects(() => parseJoinResponse({ ...resp, managers: [peer(1), { ...peer(2), raftId: null }] }), 'raftId', 'one bad manager');
  rejects(() => parseJoinResponse({ ...resp, role: 'leader' }), 'role', 'unknown role');
  rejects(() => parseJoinResponse({ ...resp, signature: new Uint8Array(129) }), 'signature', 'oversized signature');
  rejects(() => parseJoinResponse({ ...resp, clusterPublicKey: 'key' }), 'clusterPublicKey', 'key as a string');
});

test('parseAdmitRequest validates the relayed join request too', () => {
  const ok = parseAdmitRequest({ join: joinRequest(), peerId: '12D3KooW' });
  assert.equal(ok.peerId, '12D3KooW');
  assert.equal(ok.join.hostname, 'wrk-1');
  rejects(() => parseAdmitRequest({ join: withField(joinRequest(), ['token'], 1), peerId: 'p' }), 'token', 'bad inner token');
  rejects(() => parseAdmitRequest({ join: joinRequest(), peerId: 'p'.repeat(129) }), 'peerId', 'long peer id');
  rejects(() => parseAdmitRequest({ peerId: 'p' }), 'join request', 'no join');
});

test('parseProposeRequest enforces the caller\'s byte limit', () => {
  assert.equal(parseProposeRequest({ data: new Uint8Array(100) }, 100).data.byteLength, 100);
  rejects(() => parseProposeRequest({ data: new Uint8Array(101) }, 100), 'data', 'over the limit');
  rejects(() => parseProposeRequest({ data: 'bytes' }, 100), 'data', 'a string');
  rejects(() => parseProposeRequest(null, 100), 'propose request', 'null');
});
