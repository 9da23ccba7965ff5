// How `shoal node ...` shows nodes: docker's `node ls` table and `node inspect --pretty`
// template, plus the spec changes `node update` makes. Pure functions of API objects.

import { InvalidArgumentError } from '../../shared/errors.js';
import type { Labels, Node, NodeAvailability, NodeRole, NodeSpec } from '../../shared/model/index.js';
import { naturalCompare } from './natural.js';
import { formatTable } from './tabwriter.js';
import { bytesSize, capitalize, goTimeString } from './units.js';

/** docker sorts by hostname only (naturally); the ID makes the order total. */
export function sortNodes(nodes: readonly Node[]): Node[] {
  return [...nodes].sort(
    (a, b) => naturalCompare(a.Description.Hostname, b.Description.Hostname) || (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0),
  );
}

/** "Leader", "Reachable", "Unreachable", or "" for workers. */
export function managerStatus(node: Node): string {
  const ms = node.ManagerStatus;
  if (!ms) return '';
  return ms.Leader === true ? 'Leader' : capitalize(ms.Reachability);
}

// docker's template is `{{.ID}} {{if .Self}}*{{else}} {{ end }}`: the header and
// other rows get two trailing spaces, the node the CLI talks to gets " *".
export function nodeRow(node: Node, selfId: string): string[] {
  return [
    `${node.ID} ${node.ID === selfId ? '*' : ' '}`,
    node.Description.Hostname,
    capitalize(node.Status.State),
    capitalize(node.Spec.Availability),
    managerStatus(node),
    node.Description.Engine.EngineVersion,
  ];
}

export const NODE_TABLE_HEADER: readonly string[] = ['ID  ', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION'];

/** `docker node ls`: sorted, aligned, with the header even when there are no nodes. */
export function formatNodeTable(nodes: readonly Node[], selfId: string): string {
  return formatTable([NODE_TABLE_HEADER, ...sortNodes(nodes).map((n) => nodeRow(n, selfId))]);
}

/** `docker node ls -q`. */
export function formatNodeIds(nodes: readonly Node[]): string {
  return sortNodes(nodes)
    .map((n) => `${n.ID}\n`)
    .join('');
}

// Go templates range over maps in key order.
function sortedEntries(labels: Labels | undefined): [string, string][] {
  return Object.entries(labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function labelLines(labels: Labels | undefined): string[] {
  return sortedEntries(labels).map(([k, v]) => ` - ${k}${v === '' ? '' : `=${v}`}`);
}

/** `docker node inspect --pretty`, tabs and all (docker does not align this template). */
export function formatNodePretty(node: Node): string {
  const lines: string[] = [`ID:\t\t\t${node.ID}`];
  if (node.Spec.Name) lines.push(`Name:\t\t\t${node.Spec.Name}`);
  const labels = labelLines(node.Spec.Labels);
  if (labels.length > 0) lines.push('Labels:', ...labels);
  lines.push(`Hostname:              \t${node.Description.Hostname}`);
  lines.push(`Joined at:             \t${goTimeString(node.CreatedAt)}`);
  lines.push('Status:', ` State:\t\t\t${capitalize(node.Status.State)}`);
  if (node.Status.Message) lines.push(` Message:              \t${capitalize(node.Status.Message)}`);
  lines.push(` Availability:         \t${capitalize(node.Spec.Availability)}`);
  if (node.Status.Addr) lines.push(` Address:\t\t${node.Status.Addr}`);
  const ms = node.ManagerStatus;
  if (ms) {
    lines.push('Manager Status:', ` Address:\t\t${ms.Addr}`, ` Raft Status:\t\t${capitalize(ms.Reachability)}`);
    lines.push(` Leader:\t\t${ms.Leader === true ? 'Yes' : 'No'}`);
  }
  const { Platform: platform, Resources: resources, Engine: engine, TLSInfo: tls } = node.Description;
  lines.push('Platform:', ` Operating System:\t${platform.OS}`, ` Architecture:\t\t${platform.Architecture}`);
  lines.push('Resources:', ` CPUs:\t\t\t${Math.trunc(resources.NanoCPUs / 1e9)}`);
  lines.push(` Memory:\t\t${resources.MemoryBytes === 0 ? '' : bytesSize(resources.MemoryBytes)}`);
  const plugins = new Map<string, string[]>();
  for (const p of engine.Plugins ?? []) plugins.set(p.Type, [...(plugins.get(p.Type) ?? []), p.Name]);
  if (plugins.size > 0) {
    lines.push('Plugins:');
    for (const [type, names] of [...plugins].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      lines.push(` ${type}:\t\t${names.join(', ')}`);
    }
  }
  lines.push(`Engine Version:\t\t${engine.EngineVersion}`);
  const engineLabels = labelLines(engine.Labels);
  if (engineLabels.length > 0) lines.push('Engine Labels:', ...engineLabels);
  if (tls && (tls.TrustRoot || tls.CertIssuerSubject || tls.CertIssuerPublicKey)) {
    lines.push('TLS Info:', ' TrustRoot:', tls.TrustRoot ?? '');
    lines.push(` Issuer Subject:\t${tls.CertIssuerSubject ?? ''}`, ` Issuer Public Key:\t${tls.CertIssuerPublicKey ?? ''}`);
  }
  return lines.join('\n') + '\n';
}

/** What `node update` flags ask for; absent fields stay as they are. */
export interface NodeUpdateChanges {
  role?: NodeRole | undefined;
  availability?: NodeAvailability | undefined;
  /** "key=value" or "key" (empty value). */
  labelAdd?: readonly string[];
  labelRm?: readonly string[];
}

/** docker's opts.ValidateLabel: anything with a non-empty key. */
export function validateLabel(value: string): string {
  const key = value.split('=', 1)[0]!.trim();
  if (key === '') throw new InvalidArgumentError(`invalid label '${value}': empty name`);
  return value;
}

/** docker's mergeNodeUpdate: role, availability, then labels added, then labels removed. */
export function mergeNodeUpdate(spec: NodeSpec, changes: NodeUpdateChanges): NodeSpec {
  // A Map, so keys such as "__proto__" stay ordinary labels.
  const labels = new Map(Object.entries(spec.Labels ?? {}));
  for (const kv of changes.labelAdd ?? []) {
    const at = kv.indexOf('=');
    labels.set(at === -1 ? kv : kv.slice(0, at), at === -1 ? '' : kv.slice(at + 1));
  }
  for (const key of changes.labelRm ?? []) {
    // docker fails rather than silently ignoring a typo.
    if (!labels.delete(key)) throw new InvalidArgumentError(`key ${key} doesn't exist in node's labels`);
  }
  return {
    ...spec,
    Role: changes.role ?? spec.Role,
    Availability: changes.availability ?? spec.Availability,
    Labels: Object.fromEntries(labels),
  };
}
