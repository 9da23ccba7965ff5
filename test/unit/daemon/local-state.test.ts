import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalError } from '../../../shared/errors.js';
import { clearLocalState, loadLocalState, saveLocalState, type LocalState } from '../../../cli/daemon/local-state.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shoal-local-state-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function state(over: Partial<LocalState> = {}): LocalState {
  return {
    nodeId: 'n1',
    clusterId: 'c1',
    role: 'manager',
    raftId: 123456789012,
    listenAddr: '0.0.0.0:2377',
    advertiseAddr: '10.0.0.1:2377',
    managers: [{ nodeId: 'n1', peerId: '12D3KooW1', addr: '/ip4/10.0.0.1/tcp/2377', raftId: 123456789012 }],
    ...over,
  };
}

function corrupt(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof ShoalError && err.code === 'corrupt_state' && /swarm\.json is corrupt/.test(err.message) && pattern.test(err.message);
}

test('nothing saved: undefined, also when the data root does not exist yet', async () => {
  await withDir(async (dir) => {
    assert.equal(await loadLocalState(dir), undefined);
    assert.equal(await loadLocalState(join(dir, 'missing')), undefined);
  });
});

test('save then load gives back the same state; the file is private and no temp file stays', async () => {
  await withDir(async (dir) => {
    await saveLocalState(dir, state());
    assert.deepEqual(await loadLocalState(dir), state());
    assert.equal((await stat(join(dir, 'swarm.json'))).mode & 0o777, 0o600);
    await saveLocalState(dir, state({ role: 'worker', raftId: 0, managers: [] }));
    assert.deepEqual(await loadLocalState(dir), state({ role: 'worker', raftId: 0, managers: [] }));
    assert.deepEqual(await readdir(dir), ['swarm.json']);
  });
});

test('clearLocalState forgets the swarm, and is fine when there is nothing to forget', async () => {
  await withDir(async (dir) => {
    await saveLocalState(dir, state());
    await clearLocalState(dir);
    assert.equal(await loadLocalState(dir), undefined);
    await clearLocalState(dir);
  });
});

test('a state file without raftId or managers (older writer) loads with the defaults', async () => {
  await withDir(async (dir) => {
    const { raftId: _r, managers: _m, ...rest } = state({ role: 'worker' });
    await writeFile(join(dir, 'swarm.json'), JSON.stringify(rest));
    assert.deepEqual(await loadLocalState(dir), { ...rest, raftId: 0, managers: [] });
  });
});

test('a corrupt state file is an error that says which file and what to do', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'swarm.json');
    const cases: Array<[string, RegExp]> = [
      ['{"nodeId": ', /JSON/],
      ['null', /./],
      [JSON.stringify({ ...state(), nodeId: undefined }), /nodeId/],
      [JSON.stringify({ ...state(), clusterId: 42 }), /clusterId/],
      [JSON.stringify({ ...state(), advertiseAddr: '' }), /advertiseAddr/],
      [JSON.stringify({ ...state(), listenAddr: null }), /listenAddr/],
      [JSON.stringify({ ...state(), role: 'leader' }), /role/],
      [JSON.stringify({ ...state(), raftId: 'seven' }), /raftId/],
      [JSON.stringify({ ...state(), raftId: -1 }), /raftId/],
      [JSON.stringify({ ...state(), managers: [{ nodeId: 'x' }] }), /manager/],
    ];
    for (const [text, why] of cases) {
      await writeFile(file, text);
      await assert.rejects(loadLocalState(dir), (err: unknown) => {
        assert.ok(corrupt(why)(err), `${text.slice(0, 40)}: ${String(err)}`);
        assert.match((err as Error).message, /fix or remove it, then restart/);
        return true;
      });
    }
    // The file is left for the user to look at.
    assert.equal(await readFile(file, 'utf8'), cases[cases.length - 1]![0]);
  });
});
