// The simulation as part of the suite: correct Raft survives many seeds of
// faults, and every injected bug is caught within 300 seeds (a checker is only
// trusted once it has been seen failing).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RaftBug } from '../../manager/raft/raft.js';
import { runSeed, type SimResult } from './world.js';

function runSeeds(count: number, nodes: number, bug?: RaftBug): SimResult[] {
  const failed: SimResult[] = [];
  for (let seed = 1; seed <= count; seed++) {
    const res = runSeed({ seed, nodes, steps: 5000, bugs: bug ? [bug] : [] });
    if (res.violations.length > 0) {
      failed.push(res);
      if (bug) break; // one catch is the proof
    }
  }
  return failed;
}

function describeFailures(failed: SimResult[]): string {
  return failed.map((r) => `seed ${r.seed}: ${r.violations.join('; ')}`).join('\n');
}

describe('deterministic simulation', () => {
  it('a seed replays exactly', () => {
    const a = runSeed({ seed: 42, nodes: 3, steps: 3000 });
    const b = runSeed({ seed: 42, nodes: 3, steps: 3000 });
    assert.deepEqual(a.trace, b.trace);
    assert.deepEqual(a.stats, b.stats);
  });

  it('exercises the faults it claims to', () => {
    let crashes = 0;
    let snapshots = 0;
    let leaders = 0;
    let acked = 0;
    const traces: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSeed({ seed, nodes: 3, steps: 5000 });
      crashes += r.stats.crashes;
      snapshots += r.stats.snapshotsSent;
      leaders += r.stats.leaders;
      acked += r.stats.acked;
      traces.push(...r.trace);
    }
    assert.ok(crashes > 20, `crashes: ${crashes}`);
    assert.ok(snapshots > 5, `snapshot chunks sent: ${snapshots}`);
    assert.ok(leaders > 40, `leaders elected: ${leaders}`);
    assert.ok(acked > 200, `puts acknowledged: ${acked}`);
    for (const kind of ['torn tail', 'partition', 'paused', 'transfers leadership', 'AddVoter', 'RemoveNode', 'compacted']) {
      assert.ok(traces.some((l) => l.includes(kind)), `no "${kind}" event in 20 seeds`);
    }
  });

  for (const nodes of [3, 5]) {
    it(`${nodes} nodes: 100 seeds without a violation`, () => {
      const failed = runSeeds(100, nodes);
      assert.equal(failed.length, 0, describeFailures(failed));
    });
  }

  const caught: Array<[RaftBug, number[]]> = [
    ['commit-old-term', [3]],
    ['read-without-quorum', [3, 5]],
    ['double-vote', [3, 5]],
  ];
  for (const [bug, sizes] of caught) {
    for (const nodes of sizes) {
      it(`catches the injected bug ${bug} on ${nodes} nodes within 300 seeds`, () => {
        const failed = runSeeds(300, nodes, bug);
        assert.ok(failed.length > 0, `bug ${bug} was not detected in 300 seeds`);
      });
    }
  }
});
