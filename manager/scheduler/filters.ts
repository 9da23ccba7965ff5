// The filters a node must pass to take a task, in swarmkit's order, and the
// explanation users see when no node passes: each node is counted under the
// first filter it fails, and the counts are listed most common first, e.g.
// "insufficient memory on 3 nodes; scheduling constraints not satisfied on 2 nodes".
// Pure.
import type { Platform, TaskRecord } from '../../shared/model/index.js';
import { type Constraint, nodeMatchesConstraints, parseConstraint } from './constraints.js';
import type { NodeInfo } from './node-info.js';
import { hostPorts, reservations, type ServiceLookup } from './task-facts.js';

/** Everything about a task that filters look at; shared by all tasks of one service at one spec version. */
export interface Requirements {
  serviceId: string;
  nanoCPUs: number;
  memoryBytes: number;
  constraints: readonly Constraint[];
  platforms: readonly Platform[];
  hostPorts: readonly string[];
  /** 0: unlimited. */
  maxReplicas: number;
}

export type FilterName = 'ready' | 'cpu' | 'memory' | 'constraints' | 'platform' | 'hostPorts' | 'maxReplicas';

interface Filter {
  name: FilterName;
  /**
   * Static filters depend only on the node and the spec, so one check per
   * node per batch is enough; dynamic ones change as tasks land on the node.
   */
  dynamic: boolean;
  enabled(r: Requirements): boolean;
  passes(r: Requirements, n: NodeInfo): boolean;
  explain(nodes: number): string;
}

function onNodes(what: string, nodes: number): string {
  return `${what} on ${nodes} node${nodes === 1 ? '' : 's'}`;
}

/** Docker reports x86_64 as amd64 and aarch64 as arm64 in image platforms. */
function normalArch(arch: string): string {
  if (arch === 'x86_64') return 'amd64';
  if (arch === 'aarch64') return 'arm64';
  return arch;
}

export function platformMatches(wanted: Platform, node: Platform | undefined): boolean {
  const arch = normalArch(wanted.Architecture ?? '');
  const os = wanted.OS ?? '';
  return (arch === '' || arch === normalArch(node?.Architecture ?? '')) && (os === '' || os === (node?.OS ?? ''));
}

const FILTERS: readonly Filter[] = [
  {
    name: 'ready',
    dynamic: false,
    enabled: () => true,
    passes: (_r, n) => n.node !== undefined && n.node.Status.State === 'ready' && n.node.Spec.Availability === 'active',
    explain: (k) => `${k} node${k === 1 ? '' : 's'} not available for new tasks`,
  },
  {
    name: 'cpu',
    dynamic: true,
    enabled: (r) => r.nanoCPUs > 0,
    passes: (r, n) => r.nanoCPUs <= n.availableNanoCPUs,
    explain: (k) => onNodes('insufficient CPU', k),
  },
  {
    name: 'memory',
    dynamic: true,
    enabled: (r) => r.memoryBytes > 0,
    passes: (r, n) => r.memoryBytes <= n.availableMemoryBytes,
    explain: (k) => onNodes('insufficient memory', k),
  },
  {
    name: 'constraints',
    dynamic: false,
    enabled: (r) => r.constraints.length > 0,
    passes: (r, n) => n.node !== undefined && nodeMatchesConstraints(r.constraints, n.node),
    explain: (k) => onNodes('scheduling constraints not satisfied', k),
  },
  {
    name: 'platform',
    dynamic: false,
    enabled: (r) => r.platforms.length > 0,
    passes: (r, n) => r.platforms.some((p) => platformMatches(p, n.node?.Description?.Platform)),
    explain: (k) => onNodes('unsupported platform', k),
  },
  {
    name: 'hostPorts',
    dynamic: true,
    enabled: (r) => r.hostPorts.length > 0,
    passes: (r, n) => r.hostPorts.every((p) => !n.usedHostPorts.has(p)),
    explain: (k) => onNodes('host-mode port already in use', k),
  },
  {
    name: 'maxReplicas',
    dynamic: true,
    enabled: (r) => r.maxReplicas > 0,
    passes: (r, n) => n.serviceCount(r.serviceId) < r.maxReplicas,
    // Docker's words exactly, count-free: scripts match on them.
    explain: () => 'max replicas per node limit exceed',
  },
];

/**
 * The requirements of a task, or Docker's complaint about its constraints.
 * The API validates constraints on the way in; a bad one here (an old spec,
 * a bug) keeps the task pending with the reason rather than ignoring it.
 */
export function requirementsOf(task: TaskRecord, services: ServiceLookup): Requirements | { error: string } {
  const placement = task.Spec.Placement;
  const constraints: Constraint[] = [];
  for (const expr of placement?.Constraints ?? []) {
    try {
      constraints.push(parseConstraint(expr));
    } catch (err) {
      return { error: `invalid placement constraint ${JSON.stringify(expr)}: ${(err as Error).message}` };
    }
  }
  const r = reservations(task.Spec);
  return {
    serviceId: task.ServiceID,
    nanoCPUs: r.nanoCPUs,
    memoryBytes: r.memoryBytes,
    constraints,
    platforms: placement?.Platforms ?? [],
    hostPorts: hostPorts(services(task.ServiceID)),
    maxReplicas: placement?.MaxReplicas ?? 0,
  };
}

/** The filters that apply to one set of requirements. */
export class Pipeline {
  private readonly all: readonly Filter[];
  private readonly dynamicOnes: readonly Filter[];

  constructor(readonly requirements: Requirements) {
    this.all = FILTERS.filter((f) => f.enabled(requirements));
    this.dynamicOnes = this.all.filter((f) => f.dynamic);
  }

  /** The first filter the node fails, or undefined if it can take the task. */
  firstFailure(n: NodeInfo): FilterName | undefined {
    for (const f of this.all) if (!f.passes(this.requirements, n)) return f.name;
    return undefined;
  }

  passes(n: NodeInfo): boolean {
    return this.firstFailure(n) === undefined;
  }

  /** Only the filters that change as tasks are placed: can the node take one more? */
  passesDynamic(n: NodeInfo): boolean {
    for (const f of this.dynamicOnes) if (!f.passes(this.requirements, n)) return false;
    return true;
  }

  /** Why none of `nodes` can take the task: "insufficient memory on 3 nodes; ..." (empty with no nodes). */
  explain(nodes: Iterable<NodeInfo>): string {
    return explainFailures(this.failureCounts(nodes));
  }

  failureCounts(nodes: Iterable<NodeInfo>): Map<FilterName, number> {
    const counts = new Map<FilterName, number>();
    for (const n of nodes) {
      const f = this.firstFailure(n);
      if (f !== undefined) counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    return counts;
  }
}

/** Most common reason first; ties in filter order. */
export function explainFailures(counts: ReadonlyMap<FilterName, number>): string {
  return FILTERS.filter((f) => (counts.get(f.name) ?? 0) > 0)
    .map((f, order) => ({ f, order, n: counts.get(f.name)! }))
    .sort((a, b) => b.n - a.n || a.order - b.order)
    .map(({ f, n }) => f.explain(n))
    .join('; ');
}

/** The message a task that cannot be placed keeps in Status.Err. */
export function noSuitableNode(explanation: string): string {
  return explanation === '' ? 'no suitable node' : `no suitable node (${explanation})`;
}
