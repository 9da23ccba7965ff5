// Stands in for a runtime this build does not have yet (`oci`, which the next
// issue brings). The daemon starts normally, so a swarm of such daemons still
// forms and heartbeats; a task placed on the node is rejected at prepare with
// a message that says what to do instead.
import type { Task } from '../../shared/model/index.js';
import type { Executor, ExitResult, HealthState } from './executor.js';

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

  close(): Promise<void> {
    return Promise.resolve();
  }
}
