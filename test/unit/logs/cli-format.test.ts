// The CLI's side of `service logs`: reading the multiplexed stream, --since, and printing lines as docker does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detailsOf, muxFrame, renderLine } from '../../../manager/logs/docker-stream.js';
import type { LogLine } from '../../../manager/logs/types.js';
import { LineFormatter, type NameSource, parseLogDetails, queryUnescape } from '../../../cli/logs/line-format.js';
import { MuxDecoder } from '../../../cli/logs/mux.js';
import { logsTimestamp } from '../../../cli/logs/since.js';

describe('MuxDecoder', () => {
  it('reassembles frames from any chunking, headers split included', () => {
    const bytes = Buffer.concat([muxFrame(1, Buffer.from('one\n')), muxFrame(2, Buffer.from('two\n')), muxFrame(3, Buffer.from('bad\n')), muxFrame(1, Buffer.alloc(0))]);
    for (const size of [1, 3, 7, 8, 9, bytes.length]) {
      const d = new MuxDecoder();
      const got: string[] = [];
      for (let at = 0; at < bytes.length; at += size) {
        for (const f of d.push(bytes.subarray(at, at + size))) got.push(`${f.stream}:${f.payload.toString()}`);
      }
      assert.deepEqual(got, ['stdout:one\n', 'stderr:two\n', 'error:bad\n', 'stdout:'], `chunks of ${size}`);
      assert.equal(d.pending, 0);
    }
  });

  it('keeps an unfinished frame, and refuses an unknown stream type', () => {
    const d = new MuxDecoder();
    assert.deepEqual(d.push(muxFrame(1, Buffer.from('abc')).subarray(0, 9)), []);
    assert.equal(d.pending, 9);
    assert.throws(() => new MuxDecoder().push(Buffer.from([7, 0, 0, 0, 0, 0, 0, 1, 0x41])), /Unrecognized input header: 7/);
  });
});

describe('--since', () => {
  const now = new Date(Date.UTC(2024, 4, 1, 12, 0, 0));
  const nowS = Math.floor(now.getTime() / 1000);

  it('a duration counts back from now, in whole seconds', () => {
    assert.equal(logsTimestamp('10m', now), String(nowS - 600));
    assert.equal(logsTimestamp('1h30m', now), String(nowS - 5400));
    assert.equal(logsTimestamp('1.5s', now), String(nowS - 2));
  });

  it('RFC 3339 times (and shorter forms) become seconds.nanoseconds', () => {
    assert.equal(logsTimestamp('2024-05-01T11:00:00Z', now), `${nowS - 3600}.000000000`);
    assert.equal(logsTimestamp('2024-05-01T13:00:00.25+02:00', now), `${nowS - 3600}.250000000`);
    assert.equal(logsTimestamp('2024-05-01Z', now), `${nowS - 12 * 3600}.000000000`);
    // Without a zone: local time, as docker reads it.
    const local = new Date(2024, 4, 1, 11, 30, 0);
    assert.equal(logsTimestamp('2024-05-01T11:30', now), `${Math.floor(local.getTime() / 1000)}.000000000`);
  });

  it('a unix timestamp passes through; anything else is an error saying what was expected', () => {
    assert.equal(logsTimestamp('1714564800', now), '1714564800');
    assert.equal(logsTimestamp('1714564800.5', now), '1714564800.5');
    assert.equal(logsTimestamp('0', now), '0');
    assert.throws(() => logsTimestamp('yesterday', now), /invalid value for "since": failed to parse value as time or duration: "yesterday"/);
    assert.throws(() => logsTimestamp('2024-13-01', now), /invalid value for "since": parsing time "2024-13-01"/);
    assert.throws(() => logsTimestamp('2024-05-01T25', now), /invalid value for "since"/);
  });
});

describe('printing lines as docker service logs does', () => {
  const ctx: LogLine = {
    kind: 'line',
    taskId: 'abcdefghijklmnopqrstuvwxy',
    serviceId: 'svc00000000000000000000001',
    nodeId: 'node0000000000000000000001',
    stream: 'stdout',
    time: '2024-05-01T12:00:00.5Z',
    line: Buffer.from('hello | world\n'),
  };
  const asked: string[] = [];
  const names: NameSource = {
    nodeName: (id) => (asked.push(`node ${id}`), Promise.resolve('worker-1')),
    serviceName: (id) => (asked.push(`service ${id}`), Promise.resolve('web')),
    taskSlot: (id) => (asked.push(`task ${id}`), Promise.resolve(3)),
  };
  const opts = { timestamps: false, details: false, taskIds: true, trunc: true, slotWidth: 2 };

  it('details parse like docker/cli: query-unescaped k=v pairs', () => {
    assert.deepEqual([...parseLogDetails('a=1,b%2Cc=x+y%21')], [['a', '1'], ['b,c', 'x y!']]);
    assert.equal(queryUnescape('%C3%A9t%C3%A9'), 'été');
    assert.throws(() => parseLogDetails('novalue'), /invalid details format/);
    assert.throws(() => parseLogDetails('=x'), /invalid details format/);
    assert.throws(() => queryUnescape('%zz'), /invalid URL escape/);
  });

  it('name.slot.shortid@node, padded to the widest slot, then "    | " and the line', async () => {
    const f = new LineFormatter(opts, names);
    const out = await f.format(renderLine(ctx, { details: true, timestamps: false }));
    assert.equal(out.toString(), 'web.3.abcdefghijkl@worker-1     | hello | world\n');
    await f.format(renderLine(ctx, { details: true, timestamps: false }));
    assert.equal(asked.length, 3, 'names are looked up once per task');
  });

  it('with timestamps, --details, --no-task-ids, --no-trunc', async () => {
    const withTs = await new LineFormatter({ ...opts, timestamps: true, slotWidth: 1 }, names).format(renderLine(ctx, { details: true, timestamps: true }));
    assert.equal(withTs.toString(), '2024-05-01T12:00:00.500000000Z web.3.abcdefghijkl@worker-1    | hello | world\n');
    const details = await new LineFormatter({ ...opts, details: true, slotWidth: 1 }, names).format(renderLine(ctx, { details: true, timestamps: false }));
    assert.equal(details.toString(), 'web.3.abcdefghijkl@worker-1    |  hello | world\n', 'no details left beyond the context: an empty field, as docker prints');
    const noIds = await new LineFormatter({ ...opts, taskIds: false, slotWidth: 1 }, names).format(renderLine(ctx, { details: true, timestamps: false }));
    assert.equal(noIds.toString(), 'web.3@worker-1    | hello | world\n');
    const full = await new LineFormatter({ ...opts, trunc: false, slotWidth: 1 }, names).format(renderLine(ctx, { details: true, timestamps: false }));
    assert.equal(full.toString(), `web.3.${ctx.taskId}@worker-1    | hello | world\n`);
  });

  it('a line without the context is an error naming what is missing', async () => {
    const f = new LineFormatter(opts, names);
    await assert.rejects(f.format(Buffer.from('hello\n')), /invalid details format|invalid context/);
    await assert.rejects(f.format(Buffer.from('a=1 hello\n')), /missing node id in details/);
    assert.match(detailsOf(ctx), /^com\.docker\.swarm\.node\.id=/);
  });
});
