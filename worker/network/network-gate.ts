// Holds a container's attach back until the manager's word on its networks
// has reached this node: the allocator gives a task its addresses before the
// scheduler places it, but the node learns of the network (and gets its own
// address on it) only once the task is placed, so the assignment can arrive
// first. Everything else passes straight through to the data plane.
import { UnavailableError } from '../../shared/errors.js';
import type { NetworksMessage } from '../../shared/protocol/network-state.js';
import type { AttachedNetwork, AttachRequest, NetworkDataPlane } from './types.js';

export const NETWORK_WAIT_MS = 60_000;

export class NetworkGate implements NetworkDataPlane {
  private known = new Set<string>();
  private readonly waiters = new Set<() => void>();
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: NetworkDataPlane,
    private readonly waitMs = NETWORK_WAIT_MS,
  ) {}

  /** Applies one state after another: each reflects the whole of the manager's view, so order matters. */
  apply(state: NetworksMessage): Promise<void> {
    const run = this.applying.then(async () => {
      await this.inner.apply(state);
      this.known = new Set(state.networks.map((n) => n.id));
      for (const wake of [...this.waiters]) wake();
    });
    this.applying = run.catch(() => undefined);
    return run;
  }

  async attach(req: AttachRequest): Promise<AttachedNetwork> {
    const ids = req.attachments.map((a) => a.Network.ID);
    const missing = (): string[] => ids.filter((id) => !this.known.has(id));
    if (missing().length > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiters.delete(check);
          const names = req.attachments.filter((a) => missing().includes(a.Network.ID)).map((a) => a.Network.Spec.Name);
          reject(new UnavailableError(`network ${names.join(', ')} is not set up on this node yet (the manager has not sent it within ${this.waitMs / 1000} s); the task will be retried`));
        }, this.waitMs);
        const check = (): void => {
          if (missing().length > 0) return;
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        };
        this.waiters.add(check);
      });
    }
    return this.inner.attach(req);
  }

  detach(containerId: string): Promise<void> {
    return this.inner.detach(containerId);
  }

  async close(): Promise<void> {
    for (const wake of [...this.waiters]) wake();
    await this.inner.close();
  }
}
