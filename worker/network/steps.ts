// The planner's output: commands for `ip`, `bridge`, `nft` and `sysctl`,
// each aimed at the host's namespace or one of ours, in the order they
// must run. The shell (shell.ts) turns them into processes.

/** The namespace the daemon runs in. Our namespaces all start with `shoal-`, so this never clashes. */
export const HOST = 'host';

export type Step =
  | { op: 'netns-add'; ns: string }
  | { op: 'netns-del'; ns: string }
  /** `ip -batch -`; `tolerant` ones (deletions that a neighbour's deletion may have done already) run with -force and may fail. */
  | { op: 'ip'; where: string; lines: string[]; tolerant?: boolean }
  | { op: 'bridge'; where: string; lines: string[] }
  | { op: 'nft'; where: string; script: string }
  /** `key=value` settings. */
  | { op: 'sysctl'; where: string; settings: string[] };

/** Joins neighbouring batches for the same tool and namespace, so each becomes one process. */
export function mergeSteps(steps: readonly Step[]): Step[] {
  const out: Step[] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (last !== undefined && last.op === s.op && 'where' in last && 'where' in s && last.where === s.where) {
      if (last.op === 'ip' && s.op === 'ip' && (last.tolerant ?? false) === (s.tolerant ?? false)) {
        out[out.length - 1] = { ...last, lines: [...last.lines, ...s.lines] };
        continue;
      }
      if (last.op === 'bridge' && s.op === 'bridge') {
        out[out.length - 1] = { ...last, lines: [...last.lines, ...s.lines] };
        continue;
      }
      if (last.op === 'sysctl' && s.op === 'sysctl') {
        out[out.length - 1] = { ...last, settings: [...last.settings, ...s.settings] };
        continue;
      }
    }
    out.push(s);
  }
  return out;
}
