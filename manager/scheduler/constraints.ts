// Placement constraints, in Docker's syntax and with Docker's rules
// (swarmkit's manager/constraint): `key==value` or `key!=value`, keys matched
// case-insensitively, values compared case-insensitively, label names
// case-sensitive, and a missing field or label compares as the empty string
// (so `node.labels.zone!=eu` holds on a node without a zone label). Pure.
import type { NodeRecord } from '../../shared/model/index.js';
import { InvalidArgumentError } from '../../shared/errors.js';

export type ConstraintOperator = '==' | '!=';

/** What a constraint key reads from a node. Unknown keys parse (Docker accepts them) but never match. */
export type ConstraintField =
  | { kind: 'id' }
  | { kind: 'hostname' }
  | { kind: 'role' }
  | { kind: 'os' }
  | { kind: 'arch' }
  | { kind: 'nodeLabel'; label: string }
  | { kind: 'engineLabel'; label: string }
  | { kind: 'unknown' };

export interface Constraint {
  /** The key as written (trimmed), for messages. */
  key: string;
  operator: ConstraintOperator;
  /** The value as written (trimmed). */
  value: string;
  field: ConstraintField;
  /** Lower-cased once, since every comparison is case-insensitive. */
  folded: string;
}

// Docker's own patterns: keys start with a letter or underscore and have at
// least two characters; values may not contain operator characters (=, !, <, >, ~).
const KEY_PATTERN = /^[a-z_][a-z0-9\-_.]+$/i;
const VALUE_PATTERN = /^[a-z0-9:\-_\s.*()?+[\]\\^$|\/]+$/i;
// Checked in this order, as Docker does: "a==b!=c" splits on "==".
const OPERATORS: readonly ConstraintOperator[] = ['==', '!='];

export const NODE_LABEL_PREFIX = 'node.labels.';
export const ENGINE_LABEL_PREFIX = 'engine.labels.';

function hasPrefixFold(s: string, prefix: string): boolean {
  return s.length > prefix.length && s.slice(0, prefix.length).toLowerCase() === prefix;
}

/** What a key reads; shared with placement preferences, which use the label forms. */
export function constraintField(key: string): ConstraintField {
  switch (key.toLowerCase()) {
    case 'node.id':
      return { kind: 'id' };
    case 'node.hostname':
      return { kind: 'hostname' };
    case 'node.role':
      return { kind: 'role' };
    case 'node.platform.os':
      return { kind: 'os' };
    case 'node.platform.arch':
      return { kind: 'arch' };
  }
  if (hasPrefixFold(key, NODE_LABEL_PREFIX)) return { kind: 'nodeLabel', label: key.slice(NODE_LABEL_PREFIX.length) };
  if (hasPrefixFold(key, ENGINE_LABEL_PREFIX)) return { kind: 'engineLabel', label: key.slice(ENGINE_LABEL_PREFIX.length) };
  return { kind: 'unknown' };
}

/**
 * Docker's complaint about one constraint expression, word for word (tools
 * and users search for these), or undefined when it parses.
 */
export function constraintProblem(expr: string): string | undefined {
  try {
    parseConstraint(expr);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** One expression; throws InvalidArgumentError with Docker's message when malformed. */
export function parseConstraint(expr: string): Constraint {
  for (const operator of OPERATORS) {
    const at = expr.indexOf(operator);
    if (at < 0) continue;
    const key = expr.slice(0, at).trim();
    if (!KEY_PATTERN.test(key)) throw new InvalidArgumentError(`key '${key}' is invalid`);
    const value = expr.slice(at + operator.length).trim();
    if (!VALUE_PATTERN.test(value)) throw new InvalidArgumentError(`value '${value}' is invalid`);
    return { key, operator, value, field: constraintField(key), folded: value.toLowerCase() };
  }
  throw new InvalidArgumentError(`constraint expected one operator from ${OPERATORS.join(', ')}`);
}

/** Every expression (all must hold: constraints are ANDed). Throws on the first malformed one. */
export function parseConstraints(exprs: readonly string[]): Constraint[] {
  return exprs.map(parseConstraint);
}

/** The node's value for a field; undefined for keys Docker does not know. */
export function nodeFieldValue(field: ConstraintField, node: NodeRecord): string | undefined {
  switch (field.kind) {
    case 'id':
      return node.ID;
    case 'hostname':
      return node.Description?.Hostname ?? '';
    case 'role':
      return node.Spec.Role;
    case 'os':
      return node.Description?.Platform?.OS ?? '';
    case 'arch':
      return node.Description?.Platform?.Architecture ?? '';
    case 'nodeLabel':
      return node.Spec.Labels?.[field.label] ?? '';
    case 'engineLabel':
      return node.Description?.Engine?.Labels?.[field.label] ?? '';
    case 'unknown':
      return undefined;
  }
}

export function constraintHolds(c: Constraint, node: NodeRecord): boolean {
  const actual = nodeFieldValue(c.field, node);
  // Docker: a key outside its syntax fails the node whatever the operator.
  if (actual === undefined) return false;
  const equal = actual.toLowerCase() === c.folded;
  return c.operator === '==' ? equal : !equal;
}

export function nodeMatchesConstraints(constraints: readonly Constraint[], node: NodeRecord): boolean {
  for (const c of constraints) if (!constraintHolds(c, node)) return false;
  return true;
}
