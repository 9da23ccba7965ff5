// Docker's Task (definitions Task, TaskStatus, TaskState in
// docker-engine-api-v1.56.yaml).
import type { Labels, ObjectMeta, ObjectVersion } from './common.js';
import type { NetworkAttachment } from './network.js';
import type { TaskSpec } from './service.js';

/** In lifecycle order: a task's observed state only moves forward through this list. */
export const TASK_STATES = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
  'complete',
  'shutdown',
  'failed',
  'rejected',
  'remove',
  'orphaned',
] as const;

export type TaskState = (typeof TASK_STATES)[number];

export interface ContainerStatus {
  ContainerID?: string;
  PID?: number;
  ExitCode?: number;
}

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: ContainerStatus;
  PortStatus?: { Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }> };
}

export interface Task extends ObjectMeta {
  Name?: string;
  Labels?: Labels;
  Spec: TaskSpec;
  ServiceID: string;
  /** Replicated services: which replica this task is (1-based); 0 for global ones. */
  Slot?: number;
  /** Set once scheduled (global tasks are made for their node). */
  NodeID?: string;
  Status: TaskStatus;
  DesiredState: TaskState;
  JobIteration?: ObjectVersion;
  /** Set by the allocator: the task's address on each of its networks. */
  NetworksAttachments?: NetworkAttachment[];
}

export interface TaskRecord extends Task {
  Internal: {
    /** The ServiceRecord.Internal.SpecVersion this task was made from. */
    SpecVersion: number;
    /** Health as the agent last reported it, for health-gated updates. */
    Health?: 'starting' | 'healthy' | 'unhealthy';
  };
}
