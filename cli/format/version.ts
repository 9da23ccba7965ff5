// `shoal version`: docker's `docker version` layout. docker renders its template through
// tabwriter.NewWriter(out, 20, 1, 1, ' ', 0); doing the same gives the same columns.

import type { SystemVersion } from '../../manager/api/system-types.js';
import { tabwrite, type TabwriterOptions } from './tabwriter.js';

const VERSION_LAYOUT: TabwriterOptions = { minWidth: 20, padding: 1 };

export interface ClientVersion {
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  NodeVersion: string;
  Os: string;
  Arch: string;
}

/** What GET /version answers; optional throughout so a partial answer still prints. */
export type ServerVersion = Partial<SystemVersion>;

function clientLines(v: ClientVersion): string[] {
  return [
    'Client:',
    ` Version:\t${v.Version}`,
    ` API version:\t${v.ApiVersion} (minimum ${v.MinAPIVersion})`,
    ` Node version:\t${v.NodeVersion}`,
    ` OS/Arch:\t${v.Os}/${v.Arch}`,
  ];
}

function serverLines(s: ServerVersion): string[] {
  const name = s.Platform?.Name ?? '';
  const lines = [name === '' ? 'Server:' : `Server: ${name}`];
  const engine = s.Components?.find((c) => c.Name === 'Engine');
  const details = engine?.Details ?? {};
  lines.push(' Engine:', `  Version:\t${s.Version ?? engine?.Version ?? ''}`);
  lines.push(`  API version:\t${s.ApiVersion ?? ''} (minimum version ${s.MinAPIVersion ?? ''})`);
  // docker prints "Go version"; shoal's daemon runs on Node and may say which.
  const nodeVersion = details['NodeVersion'] ?? s.GoVersion ?? '';
  if (nodeVersion !== '') lines.push(`  Node version:\t${nodeVersion}`);
  if (s.GitCommit) lines.push(`  Git commit:\t${s.GitCommit}`);
  if (s.BuildTime) lines.push(`  Built:\t${s.BuildTime}`);
  lines.push(`  OS/Arch:\t${s.Os ?? ''}/${s.Arch ?? ''}`);
  if (s.KernelVersion) lines.push(`  Kernel version:\t${s.KernelVersion}`);
  for (const c of s.Components ?? []) {
    if (c.Name === 'Engine') continue;
    lines.push(` ${c.Name}:`, `  Version:\t${c.Version}`);
    for (const [k, val] of Object.entries(c.Details ?? {})) lines.push(`  ${k}:\t${val}`);
  }
  return lines;
}

export function formatClientVersion(v: ClientVersion): string {
  return tabwrite(clientLines(v).join('\n'), VERSION_LAYOUT) + '\n';
}

/** Client section, a blank line, then the Server section (docker's template). */
export function formatVersion(client: ClientVersion, server: ServerVersion): string {
  return tabwrite([...clientLines(client), '', ...serverLines(server)].join('\n'), VERSION_LAYOUT) + '\n';
}
