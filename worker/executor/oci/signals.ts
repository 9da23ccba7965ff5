// Stop signals as Docker accepts them: `SIGTERM`, `TERM`, `sigterm` or `15`;
// real-time signals as `SIGRTMIN+3` or a number up to 64.
import { constants } from 'node:os';
import { InvalidArgumentError } from '../../../shared/errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export function signalNumber(signal: string): number {
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n >= 1 && n <= SIGRTMAX) return n;
  } else {
    const name = s.startsWith('SIG') ? s : `SIG${s}`;
    const known = (constants.signals as Record<string, number | undefined>)[name];
    if (known !== undefined) return known;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt !== null) {
      const off = Number(rt[1] ?? '0');
      const n = name.startsWith('SIGRTMIN') ? SIGRTMIN + off : SIGRTMAX - off;
      if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
    }
  }
  throw new InvalidArgumentError(`invalid stop signal "${signal}"; use a signal name such as SIGTERM or SIGINT, or its number`);
}

export const SIGKILL = 9;
