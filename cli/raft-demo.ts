// Placeholder for `shoal demo raft`; the real demo (three nodes on the on-disk WAL,
// proposals, a leader crash) replaces this function.

export interface RaftDemoOptions {
  nodes: number;
  proposals: number;
  dataDir?: string;
  format: 'text' | 'json';
}

export async function runRaftDemo(_opts: RaftDemoOptions): Promise<void> {
  throw new Error('raft demo not yet wired');
}
