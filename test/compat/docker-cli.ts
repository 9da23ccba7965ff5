// The stock docker CLI as a test client: finds the binary, runs it against one
// daemon's socket with a private DOCKER_CONFIG, and parses its tables.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface DockerResult {
  /** The command line as a person would type it (for failure messages). */
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The docker client binary: $SHOAL_DOCKER_CLI when set, else `docker` on PATH.
 * A missing client is an error, not a reason to skip: these tests are the
 * project's evidence that the stock CLI works.
 */
export function findDockerBinary(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['SHOAL_DOCKER_CLI'];
  const candidates = explicit ? [explicit] : (env['PATH'] ?? '').split(delimiter).filter((d) => d !== '').map((d) => join(d, 'docker'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // Not here; try the next directory.
    }
  }
  throw new Error(
    explicit
      ? `SHOAL_DOCKER_CLI=${explicit} is not an executable file`
      : 'the docker CLI was not found on PATH; the compat tests need the stock docker client ' +
          '(Debian: `apt-get install docker.io`, which ships /usr/bin/docker), or set SHOAL_DOCKER_CLI to its path',
  );
}

/** Environment for the CLI: ours, minus anything that would point it elsewhere or at the user's config. */
function cliEnv(configDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('DOCKER_')) env[k] = v;
  }
  env['DOCKER_CONFIG'] = configDir;
  return env;
}

export class DockerCli {
  private constructor(
    readonly binary: string,
    readonly configDir: string,
  ) {}

  static async create(): Promise<DockerCli> {
    const binary = findDockerBinary();
    return new DockerCli(binary, await mkdtemp(join(tmpdir(), 'shoal-docker-config-')));
  }

  /** `docker -H <host> <args...>`; never throws for a non-zero exit. */
  run(host: string, args: readonly string[], timeoutMs = 30_000): Promise<DockerResult> {
    const argv = ['-H', host, ...args];
    const command = `docker ${argv.join(' ')}`;
    return new Promise((resolve, reject) => {
      execFile(this.binary, argv, { env: cliEnv(this.configDir), timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          // Could not run it at all (ENOENT, killed by the timeout...).
          reject(new Error(`${command}: ${err.message}${err.killed ? ` (killed after ${timeoutMs} ms)` : ''}\n${stderr}`));
          return;
        }
        resolve({ command, code: err ? Number(err.code) : 0, stdout, stderr });
      });
    });
  }

  /** run() that insists on exit code 0 and returns stdout. */
  async ok(host: string, args: readonly string[]): Promise<string> {
    const r = await this.run(host, args);
    if (r.code !== 0) throw new Error(explain(r, 'expected exit code 0'));
    return r.stdout;
  }

  /** run() that insists on a non-zero exit and returns stderr. */
  async fails(host: string, args: readonly string[]): Promise<string> {
    const r = await this.run(host, args);
    if (r.code === 0) throw new Error(explain(r, 'expected a non-zero exit code'));
    return r.stderr;
  }

  async destroy(): Promise<void> {
    await rm(this.configDir, { recursive: true, force: true });
  }
}

export function explain(r: DockerResult, what: string): string {
  return `${r.command}: ${what}, got exit code ${r.code}\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

export type TableRow = Record<string, string>;

/**
 * Parses a docker table (tabwriter output: column starts aligned with the
 * header's). Cells are cut at the header's column offsets, so empty cells
 * (a worker's MANAGER STATUS) stay empty instead of shifting the next column.
 */
export function parseTable(output: string): TableRow[] {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0];
  if (header === undefined) return [];
  // Column titles are separated by at least two spaces ("MANAGER STATUS" is one title).
  const columns: { name: string; start: number }[] = [];
  for (const m of header.matchAll(/\S+(?: \S+)*/g)) columns.push({ name: m[0], start: m.index });
  return lines.slice(1).map((line) => {
    const row: TableRow = {};
    columns.forEach((c, i) => {
      const end = columns[i + 1]?.start ?? line.length;
      row[c.name] = line.slice(c.start, end).trim();
    });
    return row;
  });
}

/** `docker node ls` rows with the self marker split off the ID. */
export interface NodeRow {
  id: string;
  self: boolean;
  hostname: string;
  status: string;
  availability: string;
  managerStatus: string;
  engineVersion: string;
}

export function parseNodeLs(output: string): NodeRow[] {
  return parseTable(output).map((r) => {
    const idCell = r['ID'] ?? '';
    return {
      id: idCell.replace(/\s*\*$/, ''),
      self: /\s\*$/.test(idCell),
      hostname: r['HOSTNAME'] ?? '',
      status: r['STATUS'] ?? '',
      availability: r['AVAILABILITY'] ?? '',
      managerStatus: r['MANAGER STATUS'] ?? '',
      engineVersion: r['ENGINE VERSION'] ?? '',
    };
  });
}

/** The value after `key:` on an indented `docker info` / `--pretty` line, whitespace trimmed. */
export function field(output: string, key: string): string | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`^[ \\t]*${escaped}:[ \\t]*(.*)$`, 'm').exec(output);
  return m?.[1]?.trim();
}
