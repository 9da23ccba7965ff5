// A porcupine-style linearizability checker, written by hand.
//
// Algorithm: Wing & Gong's search with Lowe's memoization, as in porcupine
// (github.com/anishathalye/porcupine):
//
//  * The history is first split into independent partitions (P-compositionality:
//    a map of registers is linearizable iff every key's sub-history is), and every
//    partition is checked on its own.
//  * Each partition becomes a doubly-linked list of call and return events sorted by
//    time. The search walks the list from the front: at a call event it tries to
//    linearize that operation next (model.step must accept it); if accepted, the op's
//    call and return events are lifted out of the list and the walk restarts from the
//    front. Reaching a return event means the op returning there was not linearized
//    before its return: backtrack (pop the last linearized op, put its events back, and
//    try the op after it instead).
//  * A cache of (set of linearized ops, model state) prunes configurations that were
//    already explored: a configuration met twice fails the second time as it did the
//    first. The set is a Uint32Array bitset with an incrementally maintained hash.
//
// Operations that never returned (client timed out, node crashed) may or may not have
// taken effect. Like porcupine, they are given return time = +infinity, which we
// realize by giving them no return event at all: they can be linearized anywhere after
// their call, or never. The search therefore succeeds as soon as every *completed*
// operation has been linearized (pending ones may be left out). checkKv drops pending
// gets entirely, as they carry no information.
//
// Equal timestamps. Op A precedes op B in real time iff A.ret < B.call. When
// A.ret === B.call the two are treated as CONCURRENT: among events with the same time,
// calls sort before returns (porcupine does the same). This is the permissive choice:
// it can never report a violation that did not happen, whatever the simulation means
// by "same tick" (e.g. a response delivered and a new request issued within one
// simulated millisecond, in either real order). The cost is that a violation whose only
// evidence is the order of two events in the same tick is not detected. A simulation
// that wants strict ordering must give every event a distinct timestamp (for example a
// global event sequence number, or time * K + sequence).

// ---------------------------------------------------------------------------------
// Public types

export type KvInput = { kind: 'get'; key: string } | { kind: 'put'; key: string; value: string };
export type KvOutput = { kind: 'get'; value: string | undefined } | { kind: 'put' };

export interface Operation {
  clientId: number;
  input: KvInput;
  call: number;
  /** undefined = never returned (timed out, crashed): may or may not have happened */
  output?: KvOutput;
  ret?: number;
  id?: number;
}

export interface CheckResult {
  /**
   * true only when the history was shown linearizable. A timed-out check reports
   * ok: false together with timedOut: true: inconclusive, neither pass nor violation.
   */
  ok: boolean;
  /** when !ok: a human-readable explanation for one failing key: the smallest prefix of ops that cannot be linearized and the last linearizable partial order */
  explanation?: string;
  /** the search ran out of time before reaching a verdict (and no partition was found non-linearizable) */
  timedOut?: boolean;
}

/** One operation of a generic history. ret undefined = never returned (may or may not have taken effect). */
export interface HistoryEntry<I, O> {
  input: I;
  output?: O;
  call: number;
  ret?: number;
  /** used to name the op in explanations; defaults to its index in the history */
  id?: number;
  clientId?: number;
}

export interface ModelDescriber<S, I, O> {
  operation?(input: I, output: O | undefined): string;
  state?(state: S): string;
  /** a name for one partition, e.g. `key "x"` */
  partition?(ops: ReadonlyArray<HistoryEntry<I, O>>): string;
}

export interface Model<S, I, O> {
  init(): S;
  /**
   * Apply one op. output is undefined for an op that never returned (or whose output is
   * unknown): the model should then accept it in any state where it could have run.
   */
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  equal(a: S, b: S): boolean;
  /** equal states must have equal hashes */
  hash(s: S): string;
  /** split a history into independently checkable sub-histories (P-compositionality) */
  partition?<T extends HistoryEntry<I, O>>(history: T[]): T[][];
  describe?: ModelDescriber<S, I, O>;
}

export interface CheckOptions {
  /** overall budget for the whole check (all partitions and the explanation); default 10 s */
  timeoutMs?: number;
  /** compute an explanation for a failing partition (a few extra searches); default true */
  explain?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------
// KV model: one register per key; the partition function makes it a register map.

type Register = string | undefined;

export const kvModel: Model<Register, KvInput, KvOutput> = {
  init: () => undefined,
  step(state, input, output) {
    if (input.kind === 'put') return { ok: true, state: input.value };
    // A get with unknown output could have read anything.
    if (output === undefined) return { ok: true, state };
    if (output.kind !== 'get') return { ok: false, state };
    return { ok: output.value === state, state };
  },
  equal: (a, b) => a === b,
  hash: (s) => (s === undefined ? '-' : `+${s}`),
  partition<T extends HistoryEntry<KvInput, KvOutput>>(history: T[]): T[][] {
    const byKey = new Map<string, T[]>();
    for (const op of history) {
      let list = byKey.get(op.input.key);
      if (list === undefined) {
        list = [];
        byKey.set(op.input.key, list);
      }
      list.push(op);
    }
    return [...byKey.values()];
  },
  describe: {
    operation(input, output) {
      if (input.kind === 'put') return `put(${input.key}, ${JSON.stringify(input.value)})`;
      if (output === undefined) return `get(${input.key}) -> ?`;
      if (output.kind !== 'get') return `get(${input.key}) -> <${output.kind} output>`;
      return `get(${input.key}) -> ${output.value === undefined ? 'undefined' : JSON.stringify(output.value)}`;
    },
    state: (s) => (s === undefined ? 'undefined' : JSON.stringify(s)),
    partition: (ops) => (ops.length === 0 ? 'empty partition' : `key ${JSON.stringify(ops[0]!.input.key)}`),
  },
};

/**
 * Check a KV history of put/get operations. Pending gets (never returned) are dropped;
 * pending puts may or may not have taken effect.
 */
export function checkKv(ops: Operation[], opts?: { timeoutMs?: number }): CheckResult {
  const history: Array<HistoryEntry<KvInput, KvOutput>> = [];
  ops.forEach((op, index) => {
    if (op.output !== undefined && op.output.kind !== op.input.kind) {
      throw new TypeError(`checkKv: op ${op.id ?? index} has a ${op.input.kind} input but a ${op.output.kind} output`);
    }
    const returned = op.ret !== undefined && op.output !== undefined;
    if (op.input.kind === 'get' && !returned) return; // no information
    const entry: HistoryEntry<KvInput, KvOutput> = {
      input: op.input,
      call: op.call,
      id: op.id ?? index,
      clientId: op.clientId,
    };
    if (returned) {
      entry.output = op.output;
      entry.ret = op.ret;
    }
    history.push(entry);
  });
  return checkOperations(kvModel, history, opts);
}

// ---------------------------------------------------------------------------------
// Generic engine

interface InternalOp<I, O> {
  input: I;
  output: O | undefined;
  call: number;
  /** Infinity when pending */
  ret: number;
  completed: boolean;
  src: HistoryEntry<I, O>;
  label: number;
}

type SearchResult<S> =
  | { kind: 'ok'; order: Array<{ op: number; state: S }> }
  | { kind: 'fail' }
  | { kind: 'timeout' };

export function checkOperations<S, I, O>(
  model: Model<S, I, O>,
  history: Array<HistoryEntry<I, O>>,
  opts?: CheckOptions,
): CheckResult {
  const timeoutMs = opts?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  const labels = new Map<HistoryEntry<I, O>, number>();
  history.forEach((h, i) => {
    if (typeof h.call !== 'number' || !Number.isFinite(h.call)) {
      throw new RangeError(`checkOperations: op ${h.id ?? i} has a non-finite call time ${String(h.call)}`);
    }
    if (h.ret !== undefined && (!Number.isFinite(h.ret) || h.ret < h.call)) {
      throw new RangeError(`checkOperations: op ${h.id ?? i} returns (${h.ret}) before its call (${h.call})`);
    }
    labels.set(h, h.id ?? i);
  });

  const partitions = model.partition ? model.partition(history) : [history];
  let timedOut = false;
  for (const part of partitions) {
    const ops: Array<InternalOp<I, O>> = part.map((h, i) => ({
      input: h.input,
      output: h.output,
      call: h.call,
      ret: h.ret ?? Infinity,
      completed: h.ret !== undefined,
      src: h,
      label: labels.get(h) ?? h.id ?? i,
    }));
    const res = search(model, ops, deadline);
    if (res.kind === 'timeout') {
      timedOut = true;
      continue; // a definite violation in another partition still beats "inconclusive"
    }
    if (res.kind === 'fail') {
      const name = model.describe?.partition?.(part) ?? `partition of ${part.length} ops`;
      const explanation =
        opts?.explain === false ? `${name}: not linearizable` : explain(model, ops, name, deadline);
      return { ok: false, explanation };
    }
  }
  if (timedOut) {
    return {
      ok: false,
      timedOut: true,
      explanation: `inconclusive: linearizability check timed out after ${timeoutMs} ms`,
    };
  }
  return { ok: true };
}

// ---------------------------------------------------------------------------------
// Bitset with an order-independent hash maintained on set/clear.

function mix32(i: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

class Bitset {
  readonly words: Uint32Array;
  hash = 0;

  constructor(size: number) {
    this.words = new Uint32Array(Math.max(1, Math.ceil(size / 32)));
  }

  set(i: number): void {
    const w = i >>> 5;
    const m = (1 << (i & 31)) >>> 0;
    if ((this.words[w]! & m) === 0) {
      this.words[w] = (this.words[w]! | m) >>> 0;
      this.hash = (this.hash ^ mix32(i)) >>> 0;
    }
  }

  clear(i: number): void {
    const w = i >>> 5;
    const m = (1 << (i & 31)) >>> 0;
    if ((this.words[w]! & m) !== 0) {
      this.words[w] = (this.words[w]! & ~m) >>> 0;
      this.hash = (this.hash ^ mix32(i)) >>> 0;
    }
  }

  equalsWords(other: Uint32Array): boolean {
    const a = this.words;
    for (let k = 0; k < a.length; k++) if (a[k] !== other[k]) return false;
    return true;
  }
}

// ---------------------------------------------------------------------------------
// The search over one partition.

const NIL = -1;
const HEAD = 0;

function search<S, I, O>(model: Model<S, I, O>, ops: ReadonlyArray<InternalOp<I, O>>, deadline: number): SearchResult<S> {
  const n = ops.length;
  let nCompleted = 0;

  // Events: call events for every op, return events for completed ops only (a pending
  // op's return is at +infinity, i.e. never reached).
  const events: Array<{ time: number; isCall: boolean; op: number }> = [];
  for (let i = 0; i < n; i++) {
    const o = ops[i]!;
    events.push({ time: o.call, isCall: true, op: i });
    if (o.completed) {
      events.push({ time: o.ret, isCall: false, op: i });
      nCompleted++;
    }
  }
  if (nCompleted === 0) return { kind: 'ok', order: [] };
  // Calls before returns at equal times: equal timestamps mean "concurrent" (see the
  // header comment). Remaining ties are broken by op index for determinism.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1) || a.op - b.op);

  // Node 0 is the head sentinel; event k is node k + 1.
  const size = events.length + 1;
  const next = new Int32Array(size);
  const prev = new Int32Array(size);
  const nodeOp = new Int32Array(size);
  const nodeIsCall = new Uint8Array(size);
  const callNode = new Int32Array(n);
  const retNode = new Int32Array(n).fill(NIL);
  for (let k = 0; k < size; k++) {
    next[k] = k + 1 < size ? k + 1 : NIL;
    prev[k] = k - 1;
  }
  nodeOp[HEAD] = -1;
  events.forEach((e, k) => {
    const node = k + 1;
    nodeOp[node] = e.op;
    nodeIsCall[node] = e.isCall ? 1 : 0;
    if (e.isCall) callNode[e.op] = node;
    else retNode[e.op] = node;
  });

  const unlink = (node: number): void => {
    const p = prev[node]!;
    const nx = next[node]!;
    next[p] = nx;
    if (nx !== NIL) prev[nx] = p;
  };
  const relink = (node: number): void => {
    const p = prev[node]!;
    const nx = next[node]!;
    next[p] = node;
    if (nx !== NIL) prev[nx] = node;
  };
  // Dancing links: relinking in the reverse order of unlinking restores the list.
  const lift = (op: number): void => {
    unlink(callNode[op]!);
    const r = retNode[op]!;
    if (r !== NIL) unlink(r);
  };
  const unlift = (op: number): void => {
    const r = retNode[op]!;
    if (r !== NIL) relink(r);
    relink(callNode[op]!);
  };

  const linearized = new Bitset(n);
  const cache = new Map<string, Array<{ bits: Uint32Array; state: S }>>();
  const stack: Array<{ op: number; prevState: S }> = [];
  let state = model.init();
  let done = 0; // completed ops currently linearized
  let entry = next[HEAD]!;
  let iterations = 0;

  // Success as soon as every completed op is linearized; pending ops may be left out.
  while (done < nCompleted) {
    if ((iterations++ & 1023) === 0 && performance.now() >= deadline) return { kind: 'timeout' };
    if (entry === NIL) throw new Error('linearizability: internal error: walked off the event list');
    const op = nodeOp[entry]!;
    if (nodeIsCall[entry] === 1) {
      const o = ops[op]!;
      const r = model.step(state, o.input, o.output);
      if (r.ok) {
        linearized.set(op);
        const key = `${linearized.hash}|${model.hash(r.state)}`;
        let bucket = cache.get(key);
        const seen = bucket !== undefined && bucket.some((c) => linearized.equalsWords(c.bits) && model.equal(c.state, r.state));
        if (!seen) {
          if (bucket === undefined) {
            bucket = [];
            cache.set(key, bucket);
          }
          bucket.push({ bits: linearized.words.slice(), state: r.state });
          stack.push({ op, prevState: state });
          state = r.state;
          if (o.completed) done++;
          lift(op);
          entry = next[HEAD]!;
          continue;
        }
        linearized.clear(op);
      }
      entry = next[entry]!;
    } else {
      // The op returning here has not been linearized: undo the last choice.
      const top = stack.pop();
      if (top === undefined) return { kind: 'fail' };
      state = top.prevState;
      linearized.clear(top.op);
      if (ops[top.op]!.completed) done--;
      unlift(top.op);
      entry = next[callNode[top.op]!]!;
    }
  }

  const order: Array<{ op: number; state: S }> = [];
  for (let k = 0; k < stack.length; k++) {
    order.push({ op: stack[k]!.op, state: k + 1 < stack.length ? stack[k + 1]!.prevState : state });
  }
  return { kind: 'ok', order };
}

// ---------------------------------------------------------------------------------
// Explanations

const MAX_LISTED = 40;

/**
 * The sub-history "as observed at time t": ops called by t; those that returned by t
 * keep their outputs, the others become pending (output unknown, may or may not have
 * taken effect). If the history at t is not linearizable, neither is the history at any
 * later time, so the smallest failing prefix is found by binary search over return times.
 */
function prefixAt<I, O>(ops: ReadonlyArray<InternalOp<I, O>>, t: number): Array<InternalOp<I, O>> {
  const out: Array<InternalOp<I, O>> = [];
  for (const o of ops) {
    if (o.call > t) continue;
    if (o.completed && o.ret <= t) out.push(o);
    else out.push({ ...o, output: o.completed ? undefined : o.output, ret: Infinity, completed: false });
  }
  return out;
}

function explain<S, I, O>(model: Model<S, I, O>, ops: ReadonlyArray<InternalOp<I, O>>, name: string, deadline: number): string {
  const describeOp = (o: InternalOp<I, O>): string =>
    model.describe?.operation?.(o.input, o.output) ?? `${JSON.stringify(o.input)} -> ${JSON.stringify(o.output)}`;
  const describeState = (s: S): string => model.describe?.state?.(s) ?? JSON.stringify(s);
  // Ops are shown with their real [call, return] interval; "never" = never returned. In a
  // prefix, an op that returned only later is running (pending, output unknown) at its end.
  const line = (o: InternalOp<I, O>): string =>
    `#${o.label}${o.src.clientId !== undefined ? ` client ${o.src.clientId}` : ''} ${describeOp(o)} [${o.call}, ${o.src.ret ?? 'never'}]` +
    (!o.completed && o.src.ret !== undefined ? ' (still running then)' : '');

  const returnTimes = [...new Set(ops.filter((o) => o.completed).map((o) => o.ret))].sort((a, b) => a - b);
  // Invariant: the prefix at returnTimes[lo] is linearizable (lo = -1: the empty
  // prefix), the prefix at returnTimes[hi] is not (hi = last: the whole history).
  let lo = -1;
  let hi = returnTimes.length - 1;
  let loOrder: Array<{ op: number; state: S }> = [];
  let loOps: Array<InternalOp<I, O>> = [];
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const sub = prefixAt(ops, returnTimes[mid]!);
    const res = search(model, sub, deadline);
    if (res.kind === 'timeout') {
      return `${name}: not linearizable (${ops.length} ops); timed out while minimizing the failing prefix`;
    }
    if (res.kind === 'fail') hi = mid;
    else {
      lo = mid;
      loOrder = res.order;
      loOps = sub;
    }
  }

  const t = returnTimes[hi]!;
  const failing = prefixAt(ops, t).sort((a, b) => a.call - b.call || a.label - b.label);
  const culprits = failing.filter((o) => o.completed && o.ret === t);
  const out: string[] = [];
  out.push(`${name}: not linearizable (${ops.length} ops in this partition).`);
  out.push(
    `Smallest non-linearizable prefix: the ${failing.length} op(s) called by t=${t}; it becomes non-linearizable when these return at t=${t}:`,
  );
  for (const o of culprits) out.push(`  ! ${line(o)}`);
  out.push(`Ops in that prefix, by call time ([call, return]):`);
  const shown = failing.slice(-MAX_LISTED);
  if (shown.length < failing.length) out.push(`  ... ${failing.length - shown.length} earlier op(s) omitted`);
  for (const o of shown) out.push(`  ${culprits.includes(o) ? '!' : ' '} ${line(o)}`);
  if (lo < 0) {
    out.push('Last linearizable partial order: (empty: no earlier prefix to linearize)');
  } else {
    out.push(
      `Last linearizable partial order: a linearization of the prefix at t=${returnTimes[lo]} (${loOrder.length} op(s); pending ops it leaves out did not take effect):`,
    );
    const steps = loOrder.slice(-MAX_LISTED);
    const skipped = loOrder.length - steps.length;
    if (skipped > 0) out.push(`  ... ${skipped} earlier step(s) omitted`);
    steps.forEach((s, k) => {
      out.push(`  ${skipped + k + 1}. ${line(loOps[s.op]!)}  => state ${describeState(s.state)}`);
    });
  }
  return out.join('\n');
}
