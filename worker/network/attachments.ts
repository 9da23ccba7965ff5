// The containers attached on this node, kept in the data root so a
// restarted agent knows which container namespaces and veths are still
// wanted (the executor's containers outlive the agent). Recorded before
// the devices are made, so a crash in between leaves a record that the
// next reconcile completes or a detach removes.
import { join } from 'node:path';
import { StateFile } from '../state-file.js';
import type { ContainerAttachment } from './desired.js';

interface FileShape {
  version: 1;
  containers: ContainerAttachment[];
}

function isAttachment(v: unknown): v is ContainerAttachment {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a['containerId'] === 'string' &&
    typeof a['taskId'] === 'string' &&
    Array.isArray(a['networks']) &&
    a['networks'].every((n: unknown) => typeof n === 'object' && n !== null && typeof (n as Record<string, unknown>)['networkId'] === 'string' && typeof (n as Record<string, unknown>)['address'] === 'string')
  );
}

export class AttachmentStore {
  private readonly byContainer = new Map<string, ContainerAttachment>();
  private readonly file: StateFile<FileShape>;

  constructor(dir: string) {
    this.file = new StateFile<FileShape>(join(dir, 'attachments.json'), () => ({ version: 1, containers: [...this.byContainer.values()] }));
  }

  async load(): Promise<void> {
    const v = await this.file.load();
    if (v === undefined) return;
    const containers = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['containers'] : undefined;
    if (!Array.isArray(containers)) throw new Error(`${this.file.path} is not an attachment list; remove it to start afresh (containers attached before lose their overlay interfaces)`);
    for (const c of containers) if (isAttachment(c)) this.byContainer.set(c.containerId, c);
  }

  get(containerId: string): ContainerAttachment | undefined {
    return this.byContainer.get(containerId);
  }

  all(): ContainerAttachment[] {
    return [...this.byContainer.values()];
  }

  async set(a: ContainerAttachment): Promise<void> {
    this.byContainer.set(a.containerId, a);
    await this.file.save();
  }

  async delete(containerId: string): Promise<boolean> {
    if (!this.byContainer.delete(containerId)) return false;
    await this.file.save();
    return true;
  }

  async clear(): Promise<void> {
    this.byContainer.clear();
    await this.file.save();
  }
}
