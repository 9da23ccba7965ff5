// Leader failover of real daemons: three `shoal daemon` manager processes on
// loopback with the daemon's default Raft timings (tick 100 ms, election
// after 10 ticks, i.e. a randomized 1-2 s timeout). Each run finds the
// leader, kill -9s it, and measures
//
//   failover_ms          kill -> the first HTTP 200 to a node update sent
//                        through a surviving manager's API (a new committed
//                        write). A new request goes out every ATTEMPT_EVERY_MS,
//                        alternating between the two survivors, whatever the
//                        earlier ones are doing: a request sent while there is
//                        no leader waits in its read barrier (retried every
//                        half election timeout) or in a forward, so one-at-a-time
//                        retries would measure those waits rather than when
//                        the cluster first took a write. Resolution: about
//                        ATTEMPT_EVERY_MS plus one request.
//   failover_sequential_client_ms
//                        the same, for a client sending one request at a time
//                        through one survivor (on another node record, so the
//                        two writers never conflict): what a user retrying
//                        `docker node update` in a loop would see.
//   leader_elected_ms    kill -> the first "leader changed" line in a
//                        survivor's log; pino stamps it with the daemon's
//                        Date.now(), the same clock as the kill's.
//
// then restarts the killed daemon on its data root and waits until all three
// managers are reachable, agree on a leader and the restarted one has caught
// up with both writes (rejoin_ms) before the next run.
//
//   npm run bench -- failover [--runs=10]
import type { Node } from '../shared/model/index.js';
import { benchCluster, eventually, percentile, reporter, type DaemonProcess } from './daemons.js';

const report = reporter('failover');
const ATTEMPT_EVERY_MS = 20;
// Reads wait up to 5 s for a leader to confirm them: room for every attempt of that long.
const MAX_IN_FLIGHT = 256;
const WRITE_DEADLINE_MS = 60_000;
// The daemon's defaults (cli/daemon/daemon.ts -> manager/manager.ts); this bench does not change them.
const TIMINGS = { tickMs: 100, electionTick: 10 };

interface Info {
  Swarm: { NodeID: string };
}

interface RunResult {
  failoverMs: number;
  sequentialMs: number;
  electedMs: number | undefined;
  rejoinMs: number;
}

interface FirstWrite {
  /** Date.now() of the first 200. */
  okAt: number;
  /** Date.now() when that request was sent. */
  sentAt: number;
  attempts: number;
}

/**
 * Update `target`'s labels until an answer is 200. 'overlapped': a new request
 * every ATTEMPT_EVERY_MS, rotating over `vias`, whatever the earlier ones are
 * doing (when the cluster first takes writes). 'sequential': one request at a
 * time through vias[0], the next ATTEMPT_EVERY_MS after a failure (what a
 * client retrying `docker node update` in a loop sees).
 */
async function firstWrite(target: Node, label: string, vias: DaemonProcess[], mode: 'overlapped' | 'sequential', since: number): Promise<FirstWrite> {
  let ok: { okAt: number; sentAt: number } | undefined;
  let version = target.Version.Index;
  let attempts = 0;
  let refetching = false;
  const body = { ...target.Spec, Labels: { ...target.Spec.Labels, failover: label } };
  const attempt = async (via: DaemonProcess): Promise<void> => {
    const sentAt = Date.now();
    try {
      const r = await via.api('POST', `/nodes/${target.ID}/update?version=${version}`, body, 15_000);
      if (r.status === 200) {
        const okAt = Date.now();
        if (ok === undefined || okAt < ok.okAt) ok = { okAt, sentAt };
      } else if (r.status === 409 && ok === undefined && !refetching) {
        // Something else (a leader loop) updated the record: write on top of it.
        refetching = true;
        const n = await via.api<Node>('GET', `/nodes/${target.ID}`, undefined, 5_000).catch(() => undefined);
        if (n?.status === 200 && n.body.Spec.Labels?.['failover'] !== label) version = n.body.Version.Index;
        refetching = false;
      }
    } catch {
      // Timed out or refused: the next attempt follows.
    }
  };
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, ATTEMPT_EVERY_MS));
  const pending = new Set<Promise<void>>();
  while (ok === undefined) {
    if (Date.now() - since > WRITE_DEADLINE_MS) throw new Error(`no ${mode} write succeeded within ${WRITE_DEADLINE_MS} ms of the kill`);
    const via = vias[attempts % vias.length]!;
    attempts++;
    if (mode === 'sequential') {
      await attempt(via);
      if (ok === undefined) await pause();
      continue;
    }
    if (pending.size < MAX_IN_FLIGHT) {
      const p: Promise<void> = attempt(via).finally(() => pending.delete(p));
      pending.add(p);
    }
    await pause();
  }
  await Promise.all(pending);
  return { ...ok, attempts };
}

function leaderOf(nodes: Node[]): Node | undefined {
  const leaders = nodes.filter((n) => n.ManagerStatus?.Leader === true);
  return leaders.length === 1 ? leaders[0] : undefined;
}

export async function runFailoverBench(args: string[]): Promise<void> {
  const runsArg = args.find((a) => a.startsWith('--runs='));
  const runs = runsArg ? Number(runsArg.split('=')[1]) : 10;
  const benchStarted = Date.now();
  const c = await benchCluster('shoal-bench-failover-');
  process.stderr.write(`bench: failover in ${c.root}\n`);
  const names = ['m1', 'm2', 'm3'];
  const nodeIdOf = new Map<DaemonProcess, string>();
  let failed = false;
  try {
    await Promise.all(names.map((n) => c.add(n)));
    const [m1, m2, m3] = names.map((n) => c.get(n)) as [DaemonProcess, DaemonProcess, DaemonProcess];
    await m1.ok('POST', '/swarm/init', { ListenAddr: m1.addr, AdvertiseAddr: m1.addr });
    const tokens = (await m1.ok<{ JoinTokens: { Manager: string } }>('GET', '/swarm')).JoinTokens;
    for (const d of [m2, m3]) {
      await d.ok('POST', '/swarm/join', { ListenAddr: d.addr, AdvertiseAddr: d.addr, RemoteAddrs: [m1.addr], JoinToken: tokens.Manager });
    }
    for (const d of [m1, m2, m3]) nodeIdOf.set(d, (await d.ok<Info>('GET', '/info')).Swarm.NodeID);
    const daemonOf = (nodeId: string): DaemonProcess | undefined => [...nodeIdOf].find(([, id]) => id === nodeId)?.[0];

    /**
     * All three answer /nodes, see three reachable managers and agree on one
     * leader, and `caughtUp` (if given) holds on every one of them.
     */
    const steady = (what: string, caughtUp?: (nodes: Node[]) => boolean): Promise<DaemonProcess> =>
      eventually(
        async () => {
          let leaderId: string | undefined;
          for (const d of [m1, m2, m3]) {
            const r = await d.api<Node[]>('GET', '/nodes', undefined, 5_000);
            if (r.status !== 200) return undefined;
            const managers = r.body.filter((n) => n.ManagerStatus !== undefined);
            if (managers.length !== 3 || !managers.every((n) => n.ManagerStatus?.Reachability === 'reachable')) return undefined;
            if (caughtUp && !caughtUp(r.body)) return undefined;
            const l = leaderOf(r.body);
            if (!l || (leaderId !== undefined && l.ID !== leaderId)) return undefined;
            leaderId = l.ID;
          }
          return leaderId === undefined ? undefined : daemonOf(leaderId);
        },
        what,
        60_000,
      );

    await steady('three reachable managers agreeing on a leader');
    process.stderr.write(`bench: swarm of 3 managers formed in ${Date.now() - benchStarted} ms; ${runs} runs\n`);

    const results: RunResult[] = [];
    for (let run = 1; run <= runs; run++) {
      const leader = await steady(`run ${run}: a steady swarm before the kill`);
      const survivors = [m1, m2, m3].filter((d) => d !== leader);
      const label = `run-${run}`;
      // Two independent writers, each on its own node record (so neither's write conflicts with the other's).
      const overlappedTarget = await survivors[0]!.ok<Node>('GET', `/nodes/${nodeIdOf.get(survivors[0]!)!}`);
      const sequentialTarget = await survivors[1]!.ok<Node>('GET', `/nodes/${nodeIdOf.get(survivors[1]!)!}`);

      const killedAt = await leader.kill9();
      const [overlapped, sequential] = await Promise.all([
        firstWrite(overlappedTarget, label, survivors, 'overlapped', killedAt),
        firstWrite(sequentialTarget, label, [survivors[1]!], 'sequential', killedAt),
      ]);
      const failoverMs = overlapped.okAt - killedAt;
      const sequentialMs = sequential.okAt - killedAt;

      // --- the first new leader a survivor saw, from the survivors' logs ---
      let electedAt: number | undefined;
      for (const s of survivors) {
        for (const l of await s.logLines()) {
          const t = l['time'];
          if (l['msg'] !== 'leader changed' || typeof t !== 'number' || t < killedAt) continue;
          if (electedAt === undefined || t < electedAt) electedAt = t;
          break;
        }
      }
      const electedMs = electedAt === undefined ? undefined : electedAt - killedAt;

      // --- bring the killed manager back ---
      const restartAt = Date.now();
      await leader.start();
      await steady(`run ${run}: the restarted manager rejoins and catches up`, (nodes) =>
        [overlappedTarget.ID, sequentialTarget.ID].every((id) => nodes.find((n) => n.ID === id)?.Spec.Labels?.['failover'] === label),
      );
      const rejoinMs = Date.now() - restartAt;

      results.push({ failoverMs, sequentialMs, electedMs, rejoinMs });
      report('failover_ms', failoverMs, 'ms', {
        run,
        killed: leader.name,
        ...(electedMs !== undefined ? { leaderElectedMs: electedMs } : {}),
        // When the write that got the first 200 was sent, and how many were sent in all.
        firstOkSentMs: overlapped.sentAt - killedAt,
        attempts: overlapped.attempts,
      });
      report('failover_sequential_client_ms', sequentialMs, 'ms', { run, via: survivors[1]!.name, attempts: sequential.attempts });
      if (electedMs !== undefined) report('leader_elected_ms', electedMs, 'ms', { run });
      report('rejoin_ms', rejoinMs, 'ms', { run });
    }

    const summary = (metric: string, values: number[]): void => {
      const sorted = [...values].sort((a, b) => a - b);
      report(`${metric}_median`, percentile(sorted, 0.5), 'ms', { runs: sorted.length, ...TIMINGS });
      report(`${metric}_p90`, percentile(sorted, 0.9), 'ms', { runs: sorted.length });
      report(`${metric}_max`, sorted[sorted.length - 1] ?? Number.NaN, 'ms', { runs: sorted.length });
    };
    summary('failover_ms', results.map((r) => r.failoverMs));
    summary('failover_sequential_client_ms', results.map((r) => r.sequentialMs));
    summary(
      'leader_elected_ms',
      results.flatMap((r) => (r.electedMs === undefined ? [] : [r.electedMs])),
    );
    summary('rejoin_ms', results.map((r) => r.rejoinMs));
    report('wall_s', (Date.now() - benchStarted) / 1000, 's');
  } catch (err) {
    failed = true;
    process.stderr.write(`bench: failover stopped: ${err instanceof Error ? err.message : String(err)}\n${await c.dumpLogs()}\n`);
    process.exitCode = 1;
  } finally {
    await c.destroy(failed || process.env['SHOAL_KEEP_BENCH_DIRS'] !== undefined);
  }
}
