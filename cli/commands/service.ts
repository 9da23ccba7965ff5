// `shoal service create|ls|ps|inspect|scale|update|rollback|rm`, following the
// docker CLI's requests, flags and wording (cli/command/service in docker/cli).

import { Option, type Command } from 'commander';
import { ShoalError } from '../../shared/errors.js';
import type { Service, ServiceSpec, Task } from '../../shared/model/index.js';
import { parseFilters, type Filters } from '../format/filters.js';
import { formatServiceIds, formatServicePretty, formatServiceTable } from '../format/service.js';
import {
  buildCreateSpec,
  buildUpdateSpec,
  FlagError,
  parseCpus,
  parseEnv,
  parseMemory,
  parsePlacementPref,
  parsePublish,
  parsePositiveDuration,
  parseRatio,
  shellWords,
  type CreateFlags,
  type ServiceFlags,
  type UpdateFlags,
} from '../format/service-spec.js';
import { parseDuration } from '../format/units.js';
import { DaemonError } from '../http-client.js';
import { ClusterApi } from './api.js';
import { NetworkApi } from './network.js';
import { asOptionParser, collect, formatOption, integer, nonNegativeInt, PreformattedError, printJson, processIO, type CliIO, type CommandContext } from './context.js';
import { describeError } from './errors.js';
import { digestWarning } from '../../manager/control.js';
import { parseReference, withDigest } from '../../shared/registry/reference.js';
import { registryAuthFor } from '../registry-credentials.js';
import { ServiceApi } from './service-api.js';
import { watchService, type Terminal } from './service-progress.js';
import { renderTaskTable } from './task-table.js';
import { registerServiceLogs } from './service-logs.js';

/** Commander's view of the shared flags (--no-healthcheck arrives as healthcheck: false). */
type RawServiceOpts = Omit<ServiceFlags, 'noHealthcheck'> & {
  healthcheck?: boolean;
  detach?: boolean;
  quiet?: boolean;
  withRegistryAuth?: boolean;
  /** false with --no-resolve-image. */
  resolveImage?: boolean;
};

function list<T>(parse: (value: string) => T): (value: string, previous: T[] | undefined) => T[] {
  return asOptionParser((value: string, previous: T[] | undefined) => [...(previous ?? []), parse(value)]);
}

const duration = asOptionParser((v: string) => parseDuration(v));
const positiveDuration = asOptionParser((v: string) => parsePositiveDuration(v));

/** The flags `create` and `update` share (docker's addServiceFlags). */
function addServiceFlags(cmd: Command): Command {
  return cmd
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .option('--with-registry-auth', "send registry authentication details (from docker's config.json) to swarm agents")
    .option('--no-resolve-image', 'do not query the registry to resolve the image digest and supported platforms')
    .addOption(new Option('--replicas <n>', 'number of tasks').argParser(nonNegativeInt))
    .addOption(new Option('--max-concurrent <n>', 'number of job tasks to run concurrently (default equal to --replicas)').argParser(nonNegativeInt))
    .addOption(new Option('--replicas-max-per-node <n>', 'maximum number of tasks per node (default 0 = unlimited)').argParser(nonNegativeInt))
    .addOption(new Option('--reserve-cpu <cpus>', 'reserve CPUs').argParser(asOptionParser(parseCpus)))
    .addOption(new Option('--reserve-memory <bytes>', 'reserve memory (e.g. 512m)').argParser(asOptionParser(parseMemory)))
    .addOption(new Option('--limit-cpu <cpus>', 'limit CPUs').argParser(asOptionParser(parseCpus)))
    .addOption(new Option('--limit-memory <bytes>', 'limit memory (e.g. 1g)').argParser(asOptionParser(parseMemory)))
    .addOption(new Option('--restart-condition <condition>', 'restart when condition is met (default "any")').choices(['none', 'on-failure', 'any']))
    .addOption(new Option('--restart-delay <duration>', 'delay between restart attempts (ns|us|ms|s|m|h) (default 5s)').argParser(duration))
    .addOption(new Option('--restart-max-attempts <n>', 'maximum number of restarts before giving up').argParser(nonNegativeInt))
    .addOption(new Option('--restart-window <duration>', 'window used to evaluate the restart policy (ns|us|ms|s|m|h)').argParser(duration))
    .addOption(new Option('--update-parallelism <n>', 'maximum number of tasks updated simultaneously (0 to update all at once) (default 1)').argParser(nonNegativeInt))
    .addOption(new Option('--update-delay <duration>', 'delay between updates (ns|us|ms|s|m|h) (default 0s)').argParser(duration))
    .addOption(new Option('--update-failure-action <action>', 'action on update failure (default "pause")').choices(['pause', 'continue', 'rollback']))
    .addOption(new Option('--update-monitor <duration>', 'duration after each task update to monitor for failure (ns|us|ms|s|m|h) (default 5s)').argParser(duration))
    .addOption(new Option('--update-max-failure-ratio <ratio>', 'failure rate to tolerate during an update (default 0)').argParser(asOptionParser(parseRatio)))
    .addOption(new Option('--update-order <order>', 'update order (default "stop-first")').choices(['start-first', 'stop-first']))
    .addOption(new Option('--rollback-parallelism <n>', 'maximum number of tasks rolled back simultaneously (0 to roll back all at once) (default 1)').argParser(nonNegativeInt))
    .addOption(new Option('--rollback-delay <duration>', 'delay between task rollbacks (ns|us|ms|s|m|h) (default 0s)').argParser(duration))
    .addOption(new Option('--rollback-failure-action <action>', 'action on rollback failure (default "pause")').choices(['pause', 'continue']))
    .addOption(new Option('--rollback-monitor <duration>', 'duration after each task rollback to monitor for failure (ns|us|ms|s|m|h) (default 5s)').argParser(duration))
    .addOption(new Option('--rollback-max-failure-ratio <ratio>', 'failure rate to tolerate during a rollback (default 0)').argParser(asOptionParser(parseRatio)))
    .addOption(new Option('--rollback-order <order>', 'rollback order (default "stop-first")').choices(['start-first', 'stop-first']))
    .option('--health-cmd <command>', 'command to run to check health')
    .addOption(new Option('--health-interval <duration>', 'time between running the check (ms|s|m|h)').argParser(positiveDuration))
    .addOption(new Option('--health-timeout <duration>', 'maximum time to allow one check to run (ms|s|m|h)').argParser(positiveDuration))
    .addOption(new Option('--health-retries <n>', 'consecutive failures needed to report unhealthy').argParser(integer))
    .addOption(new Option('--health-start-period <duration>', 'start period for the container to initialize before counting retries (ms|s|m|h)').argParser(positiveDuration))
    .option('--no-healthcheck', 'disable any container-specified HEALTHCHECK')
    .option('--stop-signal <signal>', 'signal to stop the container')
    .addOption(new Option('--stop-grace-period <duration>', 'time to wait before force killing a container (ns|us|ms|s|m|h) (default 10s)').argParser(duration))
    .addOption(new Option('--endpoint-mode <mode>', 'endpoint mode (default "vip")').choices(['vip', 'dnsrr']));
}

/** The spec flags apart from -d and -q; --no-healthcheck as noHealthcheck (commander defaults healthcheck to true). */
function specFlags<T extends RawServiceOpts>(raw: T): Omit<T, 'healthcheck' | 'detach' | 'quiet' | 'withRegistryAuth' | 'resolveImage'> & { noHealthcheck?: true } {
  const { healthcheck, detach: _d, quiet: _q, withRegistryAuth: _w, resolveImage: _r, ...rest } = raw;
  return { ...rest, ...(healthcheck === false ? { noHealthcheck: true as const } : {}) };
}

function terminalOf(io: CliIO): Terminal {
  // Only the real stdout can be a terminal; tests and pipes get plain lines.
  if (io !== processIO) return { isTTY: false, columns: 80 };
  return { isTTY: process.stdout.isTTY === true, columns: process.stdout.columns ?? 80 };
}

/** docker's waitOnService, with Ctrl-C leaving the operation to finish in the background. */
async function converge(api: ServiceApi, io: CliIO, ref: string, quiet: boolean): Promise<void> {
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  const real = io === processIO;
  if (real) process.once('SIGINT', onSigint);
  try {
    await watchService(api, ref, io, { quiet, terminal: terminalOf(io), signal: abort.signal });
  } finally {
    if (real) process.removeListener('SIGINT', onSigint);
  }
}

/**
 * docker's resolveServiceImageDigest: ask the manager what the registry says
 * the image's tag names now and pin the spec to it, so every node runs the
 * same image. A registry that cannot be asked leaves the tag, with a warning.
 */
async function pinImage(api: ServiceApi, io: CliIO, spec: ServiceSpec): Promise<void> {
  const c = spec.TaskTemplate.ContainerSpec;
  if (c === undefined || c.Image === '' || c.Image.includes('@')) return;
  try {
    let auth: string | undefined;
    try {
      auth = registryAuthFor(c.Image);
    } catch {
      auth = undefined; // credentials kept by a helper: ask anonymously
    }
    const d = await api.distributionInspect(c.Image, auth);
    c.Image = withDigest(parseReference(c.Image), d.Descriptor.digest);
  } catch {
    io.err(digestWarning(c.Image));
  }
}

/** The IDs of networks named on --network-rm, as docker looks them up (a network that is gone is matched by the name given). */
async function networkIds(api: NetworkApi, refs: readonly string[]): Promise<Array<{ ref: string; id?: string }>> {
  const out: Array<{ ref: string; id?: string }> = [];
  for (const ref of refs) {
    try {
      out.push({ ref, id: (await api.inspect(ref)).Id });
    } catch {
      out.push({ ref });
    }
  }
  return out;
}

function printWarnings(io: CliIO, warnings: readonly string[] | null | undefined): void {
  for (const w of warnings ?? []) io.err(`${w}\n`);
}

function flagError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FlagError) throw new ShoalError('invalid_argument', err.message, 400);
    throw err;
  }
}

/** Throws every collected error at once, one per line, as docker does for multi-object commands. */
function failIfAny(errors: readonly string[]): void {
  if (errors.length > 0) throw new PreformattedError(errors.join('\n'));
}

/**
 * docker's `service ps` service lookup: full ID, then full name, then a unique
 * ID prefix; unknown names are reported after the table.
 */
async function psServiceFilter(api: ServiceApi, refs: readonly string[]): Promise<{ ids: string[]; notFound: string[] }> {
  const byId = await api.listServices({ id: [...refs] });
  const byName = await api.listServices({ name: [...refs] });
  const ids: string[] = [];
  const notFound: string[] = [];
  for (const ref of refs) {
    const exact = byId.find((s) => s.ID === ref) ?? byName.find((s) => s.Spec.Name === ref);
    if (exact) {
      ids.push(exact.ID);
      continue;
    }
    const prefixed = byId.filter((s) => s.ID.startsWith(ref));
    if (prefixed.length > 1) throw new ShoalError('invalid_argument', `multiple services found with provided prefix: ${ref}`, 400);
    if (prefixed.length === 1) ids.push(prefixed[0]!.ID);
    else notFound.push(`no such service: ${ref}`);
  }
  if (ids.length === 0) throw new PreformattedError(notFound.join('\n'));
  return { ids, notFound };
}

interface PsOpts {
  filter?: string[];
  trunc?: boolean;
  resolve?: boolean;
  quiet?: boolean;
  format?: 'json';
}

export function registerService(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  // Options of `create` stop at IMAGE (docker's SetInterspersed(false)); that needs positional options here.
  const service = program.command('service').description('manage swarm services').enablePositionalOptions();
  registerServiceLogs(service, ctx);

  addServiceFlags(
    service
      .command('create')
      .description('create a new service')
      .argument('<image>', 'image to run, e.g. nginx:1.27')
      .argument('[command...]', 'command and arguments for the container')
      .passThroughOptions()
      .option('--name <name>', 'service name')
      .option('--mode <mode>', 'service mode ("replicated", "global", "replicated-job", "global-job") (default "replicated")')
      .addOption(new Option('-e, --env <var>', 'set environment variables (repeatable)').argParser(list((v) => parseEnv(v))))
      .addOption(new Option('-l, --label <key=value>', 'service labels (repeatable)').argParser(collect))
      .addOption(new Option('--container-label <key=value>', 'container labels (repeatable)').argParser(collect))
      .addOption(new Option('--constraint <expr>', 'placement constraints, e.g. node.labels.zone==eu (repeatable)').argParser(collect))
      .addOption(new Option('--placement-pref <pref>', 'placement preference, e.g. spread=node.labels.zone (repeatable)').argParser(list(parsePlacementPref)))
      .addOption(new Option('--network <network>', 'network attachments, by name or ID (repeatable)').argParser(collect))
      .addOption(new Option('-p, --publish <port>', 'publish a port as a node port, e.g. 8080:80, 8080:80/udp or published=8080,target=80,mode=host (repeatable)').argParser(list(parsePublish))),
  ).action(async (image: string, args: string[], raw: RawServiceOpts & CreateFlags, cmd: Command) => {
    const spec = flagError(() => buildCreateSpec(image, args, specFlags(raw)));
    const api = new ServiceApi(ctx.client(cmd));
    if (raw.resolveImage !== false) await pinImage(api, io, spec);
    const auth = raw.withRegistryAuth === true ? registryAuthFor(spec.TaskTemplate.ContainerSpec?.Image ?? image) : undefined;
    const created = await api.createService(spec, auth);
    printWarnings(io, created.Warnings);
    io.out(`${created.ID}\n`);
    if (!raw.detach) await converge(api, io, created.ID, raw.quiet === true);
  });

  service
    .command('ls')
    .alias('list')
    .description('list services')
    .option('-q, --quiet', 'only display IDs')
    .addOption(new Option('-f, --filter <name=value>', 'filter output (id, label, mode, name); repeatable').argParser(collect))
    .addOption(formatOption())
    .action(async (opts: { quiet?: boolean; filter?: string[]; format?: 'json' }, cmd: Command) => {
      const api = new ServiceApi(ctx.client(cmd));
      // Like docker: the running/desired counts only when they are shown.
      const services = await api.listServices(parseFilters(opts.filter ?? []), opts.quiet !== true);
      if (opts.format === 'json') return printJson(io, services);
      io.out(opts.quiet ? formatServiceIds(services) : formatServiceTable(services));
    });

  service
    .command('ps')
    .description('list the tasks of one or more services')
    .argument('<service...>', 'service name, ID or ID prefix')
    .addOption(new Option('-f, --filter <name=value>', 'filter output (desired-state, id, label, name, node); repeatable').argParser(collect))
    .option('--no-trunc', 'do not truncate output')
    .option('--no-resolve', 'do not map IDs to names')
    .option('-q, --quiet', 'only display task IDs')
    .addOption(formatOption())
    .action(async (refs: string[], opts: PsOpts, cmd: Command) => {
      const client = ctx.client(cmd);
      const api = new ServiceApi(client);
      const filters: Filters = parseFilters(opts.filter ?? []);
      const { ids, notFound } = await psServiceFilter(api, refs);
      filters['service'] = [...(filters['service'] ?? []), ...ids];
      if (filters['node'] !== undefined) {
        // docker's node.Reference: "self" is this daemon's node.
        const nodes = new ClusterApi(client);
        filters['node'] = await Promise.all(filters['node'].map((ref) => nodes.resolveNodeRef(ref)));
      }
      const tasks: Task[] = await api.listTasks(filters);
      if (opts.format === 'json') printJson(io, tasks);
      // docker: -q implies --no-trunc.
      else if (opts.quiet) io.out(tasks.map((t) => `${t.ID}\n`).join(''));
      else io.out(await renderTaskTable(api, tasks, opts));
      failIfAny(notFound);
    });

  service
    .command('inspect')
    .description('display detailed information on one or more services')
    .argument('<service...>', 'service name, ID or ID prefix')
    .option('--pretty', 'print the information in a human friendly format')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (refs: string[], opts: { pretty?: boolean; format?: 'json' }, cmd: Command) => {
      const api = new ServiceApi(ctx.client(cmd));
      // docker inspects with insertDefaults, so the defaults in effect are shown.
      const get = async (ref: string): Promise<Service> => {
        try {
          return await api.inspectService(ref, true);
        } catch (err) {
          if (err instanceof DaemonError && err.status === 404) throw new ShoalError('not_found', `Error: no such service: ${ref}`, 404);
          throw err;
        }
      };
      if (opts.pretty && opts.format === undefined) {
        for (const ref of refs) io.out(formatServicePretty(await get(ref), Date.now()));
        return;
      }
      const found: Service[] = [];
      const errors: string[] = [];
      for (const ref of refs) {
        try {
          found.push(await get(ref));
        } catch (err) {
          errors.push(describeError(err));
        }
      }
      printJson(io, found, opts.format === 'json' ? undefined : 4);
      failIfAny(errors);
    });

  service
    .command('scale')
    .description('scale one or multiple replicated services')
    .argument('<service=replicas...>', 'e.g. web=5 api=3')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .action(async (args: string[], opts: { detach?: boolean }, cmd: Command) => {
      for (const arg of args) {
        const at = arg.indexOf('=');
        if (at <= 0 || at === arg.length - 1) {
          throw new ShoalError(
            'invalid_argument',
            `Invalid scale specifier '${arg}'.\nSee 'shoal service scale --help'.\n\nUsage:  shoal service scale SERVICE=REPLICAS [SERVICE=REPLICAS...]\n\nScale one or multiple replicated services`,
            400,
          );
        }
      }
      const api = new ServiceApi(ctx.client(cmd));
      const errors: string[] = [];
      const scaled: string[] = [];
      for (const arg of args) {
        const at = arg.indexOf('=');
        const ref = arg.slice(0, at);
        const value = arg.slice(at + 1);
        if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
          errors.push(`${ref}: invalid replicas value ${value}: strconv.ParseUint: parsing ${JSON.stringify(value)}: invalid syntax`);
          continue;
        }
        const replicas = Number(value);
        try {
          const svc = await api.inspectService(ref);
          const mode = svc.Spec.Mode;
          let spec;
          if (mode?.Replicated) spec = { ...svc.Spec, Mode: { Replicated: { ...mode.Replicated, Replicas: replicas } } };
          else if (mode?.ReplicatedJob) spec = { ...svc.Spec, Mode: { ReplicatedJob: { ...mode.ReplicatedJob, TotalCompletions: replicas } } };
          else throw new ShoalError('invalid_argument', 'scale can only be used with replicated or replicated-job mode', 400);
          const res = await api.updateService(svc.ID, svc.Version.Index, spec);
          printWarnings(io, res.Warnings);
          io.out(`${ref} scaled to ${replicas}\n`);
          scaled.push(ref);
        } catch (err) {
          errors.push(`${ref}: ${describeError(err)}`);
        }
      }
      if (!opts.detach) {
        for (const ref of scaled) {
          try {
            await converge(api, io, ref, false);
          } catch (err) {
            errors.push(`${ref}: ${describeError(err)}`);
          }
        }
      }
      failIfAny(errors);
    });

  addServiceFlags(
    service
      .command('update')
      .description('update a service')
      .argument('<service>', 'service name, ID or ID prefix')
      .option('--image <image>', 'service image tag')
      .addOption(new Option('--args <command>', 'service command args').argParser(asOptionParser(shellWords)))
      .addOption(new Option('--env-add <var>', 'add or update an environment variable (repeatable)').argParser(list((v) => parseEnv(v))))
      .addOption(new Option('--env-rm <name>', 'remove an environment variable (repeatable)').argParser(collect))
      .addOption(new Option('--label-add <key=value>', 'add or update a service label (repeatable)').argParser(collect))
      .addOption(new Option('--label-rm <key>', 'remove a label by its key (repeatable)').argParser(collect))
      .addOption(new Option('--container-label-add <key=value>', 'add or update a container label (repeatable)').argParser(collect))
      .addOption(new Option('--container-label-rm <key>', 'remove a container label by its key (repeatable)').argParser(collect))
      .addOption(new Option('--constraint-add <expr>', 'add or update a placement constraint (repeatable)').argParser(collect))
      .addOption(new Option('--constraint-rm <expr>', 'remove a constraint (repeatable)').argParser(collect))
      .addOption(new Option('--placement-pref-add <pref>', 'add a placement preference (repeatable)').argParser(list(parsePlacementPref)))
      .addOption(new Option('--placement-pref-rm <pref>', 'remove a placement preference (repeatable)').argParser(list(parsePlacementPref)))
      .addOption(new Option('--network-add <network>', 'add a network (repeatable)').argParser(collect))
      .addOption(new Option('--network-rm <network>', 'remove a network (repeatable)').argParser(collect))
      .addOption(new Option('--publish-add <port>', 'add or update a published port (repeatable)').argParser(list(parsePublish)))
      .addOption(new Option('--publish-rm <port>', 'remove a published port by its target port (repeatable)').argParser(list(parsePublish)))
      .option('--force', 'force update even if no changes require it')
      .option('--rollback', 'rollback to previous specification'),
  ).action(async (ref: string, raw: RawServiceOpts & Omit<UpdateFlags, 'networkRm'> & { networkRm?: string[]; rollback?: boolean }, cmd: Command) => {
    const { rollback, networkRm: rmRefs, ...rest } = specFlags(raw);
    const flags: UpdateFlags = { ...rest, ...(rmRefs !== undefined ? { networkRm: await networkIds(new NetworkApi(ctx.client(cmd)), rmRefs) } : {}) };
    if (rollback && Object.values(flags).some((v) => v !== undefined)) {
      throw new ShoalError('invalid_argument', 'other flags may not be combined with --rollback', 400);
    }
    const api = new ServiceApi(ctx.client(cmd));
    const svc = await api.inspectService(ref);
    const spec = rollback ? svc.Spec : flagError(() => buildUpdateSpec(svc.Spec, flags));
    // As docker: only an image given on this command line is resolved again.
    if (!rollback && flags.image !== undefined && raw.resolveImage !== false) await pinImage(api, io, spec);
    const auth = raw.withRegistryAuth === true ? registryAuthFor(spec.TaskTemplate.ContainerSpec?.Image ?? '') : undefined;
    const res = await api.updateService(svc.ID, svc.Version.Index, spec, rollback === true, auth);
    printWarnings(io, res.Warnings);
    io.out(`${ref}\n`);
    if (!raw.detach) await converge(api, io, ref, raw.quiet === true);
  });

  service
    .command('rollback')
    .description("revert changes to a service's configuration")
    .argument('<service>', 'service name, ID or ID prefix')
    .option('-d, --detach', 'exit immediately instead of waiting for the service to converge')
    .option('-q, --quiet', 'suppress progress output')
    .action(async (ref: string, opts: { detach?: boolean; quiet?: boolean }, cmd: Command) => {
      const api = new ServiceApi(ctx.client(cmd));
      const svc = await api.inspectService(ref);
      // The daemon swaps in the previous spec; the body is the current one, as docker sends it.
      const res = await api.updateService(svc.ID, svc.Version.Index, svc.Spec, true);
      printWarnings(io, res.Warnings);
      io.out(`${ref}\n`);
      if (!opts.detach) await converge(api, io, ref, opts.quiet === true);
    });

  service
    .command('rm')
    .alias('remove')
    .description('remove one or more services')
    .argument('<service...>', 'service name, ID or ID prefix')
    .action(async (refs: string[], _opts: unknown, cmd: Command) => {
      const api = new ServiceApi(ctx.client(cmd));
      const errors: string[] = [];
      for (const ref of refs) {
        try {
          await api.removeService(ref);
          io.out(`${ref}\n`);
        } catch (err) {
          errors.push(describeError(err));
        }
      }
      failIfAny(errors);
    });
}
