// A WhiteoutMaker for tests without root: it records what it was asked to do
// (paths relative to a root) and creates nothing.
import { relative } from 'node:path';
import type { WhiteoutMaker } from '../../../worker/image/whiteouts.js';

export class RecordingWhiteoutMaker implements WhiteoutMaker {
  readonly calls: Array<{ kind: 'whiteout' | 'opaque'; path: string }> = [];

  async whiteout(path: string): Promise<void> {
    this.calls.push({ kind: 'whiteout', path });
  }

  async opaque(dir: string): Promise<void> {
    this.calls.push({ kind: 'opaque', path: dir });
  }

  /** The calls with paths relative to `root`, e.g. `whiteout app/gone.txt`. */
  relativeTo(root: string): string[] {
    return this.calls.map((c) => `${c.kind} ${relative(root, c.path)}`);
  }
}
