// Reading the RFC 3339 times the store stamps (CreatedAt, UpdatedAt) and the
// agents report (Status.Timestamp) as clock milliseconds, and ordering tasks
// by creation. Tasks made in one transaction share CreatedAt; their ID breaks
// the tie so every manager orders them alike.
import type { TaskRecord } from '../../shared/model/index.js';

/** Milliseconds, or undefined for a missing or unreadable time. */
export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** When the store created the task (the leader's clock at proposal time). */
export function createdAt(t: TaskRecord): number {
  return parseTime(t.CreatedAt) ?? 0;
}

/** When the task reached its current observed state; the last write stands in when the agent's stamp is unreadable. */
export function statusTime(t: TaskRecord): number {
  return parseTime(t.Status.Timestamp) ?? parseTime(t.UpdatedAt) ?? 0;
}

/** Creation order: oldest first. */
export function byCreation(a: TaskRecord, b: TaskRecord): number {
  const d = createdAt(a) - createdAt(b);
  if (d !== 0) return d;
  // Same millisecond: the nanosecond digits of the stamp, then the ID.
  if (a.CreatedAt !== b.CreatedAt) return a.CreatedAt < b.CreatedAt ? -1 : 1;
  return a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0;
}

/** Nanoseconds (Docker's duration unit) to milliseconds. */
export function nsToMs(ns: number | undefined): number | undefined {
  return ns === undefined || !Number.isFinite(ns) || ns < 0 ? undefined : ns / 1e6;
}
