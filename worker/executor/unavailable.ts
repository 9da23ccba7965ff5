// Stands in for a runtime that cannot work on this node (the oci executor
// without root or runc). The daemon starts normally, so the node still takes
// part in the swarm; a task placed on it is rejected at prepare with the
// reason, which says what to do.
import type { Task } from '../../shared/model/index.js';
import type { ContainerInfo, Executor, ExitResult, HealthState, LogEntry } from './executor.js';

export class UnavailableExecutor implements Executor {
  constructor(
    readonly name: string,
    private readonly message: string,
  ) {}

  prepare(_task: Task): Promise<void> {
    return Promise.reject(new Error(this.message));
  }

  start(_task: Task): Promise<void> {
    return Promise.reject(new Error(this.message));
  }

  wait(_task: Task, _signal: AbortSignal): Promise<ExitResult> {
    return Promise.reject(new Error(this.message));
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  remove(): Promise<void> {
    return Promise.resolve();
  }

  health(): Promise<HealthState | undefined> {
    return Promise.resolve(undefined);
  }

  running(): Promise<string[]> {
    return Promise.resolve([]);
  }

  // It never ran a task, so there is nothing to show.
  async *logs(): AsyncIterable<LogEntry> {}

  describe(): Promise<ContainerInfo | undefined> {
    return Promise.resolve(undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
