// `shoal image ls|pull|rm|inspect`: the images of the node the CLI talks to,
// following the docker CLI's requests and wording (cli/command/image in docker/cli).

import { Option, type Command } from 'commander';
import type { ImageDeleteItem, ImageInspect, ImageSummary } from '../../manager/api/image-types.js';
import { ShoalError } from '../../shared/errors.js';
import { canonical, DEFAULT_TAG, familiarName, parseReference } from '../../shared/registry/reference.js';
import type { ImageReference } from '../../shared/registry/types.js';
import { JsonMessageDecoder, messageError, pullMessageText, type JsonMessage } from '../format/image-pull.js';
import { formatImageIds, formatImageTable } from '../format/image.js';
import { DaemonError, type DaemonClient } from '../http-client.js';
import { registryAuthFor } from '../registry-credentials.js';
import { array, object } from './answers.js';
import { formatOption, PreformattedError, printJson, type CliIO, type CommandContext } from './context.js';
import { describeError } from './errors.js';

/** An image name as a URL path: slashes stay (the API matches the rest of the path), the rest is escaped. */
export function imagePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

/** Every collected error at once, one per line, as docker does for commands taking several images. */
function failIfAny(errors: readonly unknown[]): void {
  if (errors.length > 0) throw new PreformattedError(errors.map((e) => describeError(e)).join('\n'));
}

interface LsOpts {
  quiet?: boolean;
  digests?: boolean;
  /** false with --no-trunc. */
  trunc: boolean;
  all?: boolean;
  format?: 'json';
}

interface PullOpts {
  quiet?: boolean;
  platform?: string;
}

/** What `docker pull` sends for a reference: the name, and the tag or digest apart (docker's ImagePull). */
export function pullQuery(ref: ImageReference, platform?: string): { fromImage: string; tag: string; platform?: string } {
  return { fromImage: familiarName(ref), tag: ref.digest ?? ref.tag ?? DEFAULT_TAG, ...(platform !== undefined ? { platform } : {}) };
}

/** `docker pull`: progress as it comes, then the full reference; an error in the stream fails the command. */
export async function pullImage(client: DaemonClient, io: CliIO, name: string, opts: PullOpts): Promise<void> {
  const ref = parseReference(name);
  const nameOnly = ref.digest === undefined && !name.endsWith(`:${ref.tag ?? ''}`);
  if (nameOnly && opts.quiet !== true) io.out(`Using default tag: ${DEFAULT_TAG}\n`);
  // docker sends the credentials it has for the registry (`{}` when none) with every pull.
  const auth = registryAuthFor(name);
  const stream = await client.stream('POST', '/images/create', { query: pullQuery(ref, opts.platform), headers: { 'X-Registry-Auth': auth } });
  const decoder = new JsonMessageDecoder();
  const show = (m: JsonMessage): void => {
    const error = messageError(m);
    if (error !== undefined) throw new DaemonError(500, error);
    if (opts.quiet !== true) {
      const text = pullMessageText(m);
      if (text !== '') io.out(text);
    }
  };
  try {
    try {
      for await (const chunk of stream.body) for (const m of decoder.push(chunk)) show(m);
    } catch (err) {
      if (err instanceof ShoalError) throw err;
      const detail = err instanceof Error ? err.message : String(err);
      throw new ShoalError('bad_response', `the daemon's pull progress stream broke off (${detail}); see the daemon's log, then pull again`, 502, { cause: err });
    }
    for (const m of decoder.end()) show(m);
  } finally {
    await stream.close();
  }
  io.out(`${canonical(ref)}\n`);
}

export function registerImage(program: Command, ctx: CommandContext): void {
  const { io } = ctx;
  const image = program.command('image').description('manage the images of the node the CLI talks to');

  image
    .command('ls')
    .alias('list')
    .description('list images')
    .option('-a, --all', 'show all images (shoal keeps no intermediate images, so this changes nothing)')
    .option('--digests', 'show digests')
    .option('--no-trunc', "don't truncate output")
    .option('-q, --quiet', 'only show image IDs')
    .addOption(formatOption())
    .action(async (opts: LsOpts, cmd: Command) => {
      const images = array<ImageSummary>(await ctx.client(cmd).get('/images/json'), 'GET /images/json');
      if (opts.format === 'json') return printJson(io, images);
      const noTrunc = !opts.trunc;
      if (opts.quiet) return io.out(formatImageIds(images, { noTrunc }));
      io.out(formatImageTable(images, { digests: opts.digests === true, noTrunc, now: Date.now() }));
    });

  image
    .command('pull')
    .description('download an image from a registry to this node')
    .argument('<name>', 'NAME[:TAG|@DIGEST], e.g. 127.0.0.1:5000/web:1')
    .option('-q, --quiet', 'suppress verbose output')
    .addOption(new Option('--platform <platform>', 'pull for this platform (os[/arch[/variant]]) if the server is multi-platform capable'))
    .action(async (name: string, opts: PullOpts, cmd: Command) => {
      await pullImage(ctx.client(cmd), io, name, opts);
    });

  image
    .command('rm')
    .alias('remove')
    .description('remove one or more images')
    .argument('<image...>', 'image name, ID or ID prefix')
    .option('-f, --force', 'force removal of the image')
    .action(async (names: string[], opts: { force?: boolean }, cmd: Command) => {
      const client = ctx.client(cmd);
      const errors: unknown[] = [];
      for (const name of names) {
        try {
          const items = array<ImageDeleteItem>(await client.delete(`/images/${imagePath(name)}`, { force: opts.force === true ? '1' : undefined }), `DELETE /images/${name}`);
          for (const item of items) io.out(item.Deleted !== undefined && item.Deleted !== '' ? `Deleted: ${item.Deleted}\n` : `Untagged: ${item.Untagged ?? ''}\n`);
        } catch (err) {
          errors.push(err);
        }
      }
      failIfAny(errors);
    });

  image
    .command('inspect')
    .description('display detailed information on one or more images')
    .argument('<image...>', 'image name, ID or ID prefix')
    .addOption(formatOption('-f, --format <format>'))
    .action(async (names: string[], opts: { format?: 'json' }, cmd: Command) => {
      const client = ctx.client(cmd);
      const found: ImageInspect[] = [];
      const errors: unknown[] = [];
      for (const name of names) {
        try {
          found.push(object<ImageInspect>(await client.get(`/images/${imagePath(name)}/json`), `GET /images/${name}/json`));
        } catch (err) {
          errors.push(err);
        }
      }
      // docker prints what it found (even "[]") and then the errors.
      printJson(io, found, opts.format === 'json' ? undefined : 4);
      failIfAny(errors);
    });
}
