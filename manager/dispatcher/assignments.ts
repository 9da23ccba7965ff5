// Which tasks a node is told about, and when a change to one is worth telling.
// Pure: the node session (node-session.ts) does the sending.
import type { Task, TaskRecord } from '../../shared/model/index.js';
import { stateIndex } from '../../shared/model/task-states.js';

const ASSIGNED = stateIndex('assigned');

/**
 * The node runs this task: it is placed there and the scheduler is done with
 * it. Below assigned a task may still move elsewhere, so agents never see it.
 */
export function isAssignedTo(t: TaskRecord, nodeId: string): boolean {
  return t.NodeID === nodeId && stateIndex(t.Status.State) >= ASSIGNED;
}

/**
 * What the agent acts on: desired state and spec. Status changes (the
 * agent's own reports) do not change the key, so they are not echoed back to
 * it (swarmkit's TasksEqualStable does the same). A task reaching assigned
 * is new to the agent, so it is sent whatever its key.
 */
export function assignmentKey(t: TaskRecord): string {
  return `${t.DesiredState}\u0000${t.ServiceID}\u0000${t.Slot ?? ''}\u0000${JSON.stringify(t.Spec)}`;
}

/** The task as the protocol carries it: Docker's shape, without what only managers keep. */
export function toAssigned(t: TaskRecord): Task {
  const { Internal: _internal, ...task } = t;
  return task;
}
