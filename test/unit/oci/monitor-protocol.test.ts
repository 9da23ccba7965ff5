// The executor ↔ monitor wire format (monitor-protocol.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  LineReader,
  parseState,
  ProtocolError,
  RESULT_PARSERS,
  type MonitorRequest,
} from '../../../worker/executor/oci/monitor-protocol.js';

const ID = 'a'.repeat(64);

test('every request round-trips', () => {
  const reqs: MonitorRequest[] = [
    { op: 'ping' },
    { op: 'start', id: ID, log: { maxSize: 1024, maxFiles: 2 } },
    { op: 'state', id: ID },
    { op: 'wait', id: ID },
    { op: 'kill', id: ID, signal: 15 },
    { op: 'delete', id: ID },
    { op: 'list' },
    { op: 'shutdown' },
  ];
  reqs.forEach((req, i) => {
    const line = encodeRequest(i, req);
    assert.ok(line.endsWith('\n'));
    assert.deepEqual(decodeRequest(line.trimEnd()), { seq: i, req });
  });
});

test('bad requests are refused with a reason', () => {
  const bad: Array<[string, RegExp]> = [
    ['nope', /not JSON/],
    ['{"req":{"op":"ping"}}', /seq/],
    [`{"seq":1,"req":{"op":"state","id":"../../etc"}}`, /64 lowercase hex/],
    [`{"seq":1,"req":{"op":"kill","id":"${ID}","signal":99}}`, /signal must be a number from 1 to 64/],
    [`{"seq":1,"req":{"op":"start","id":"${ID}"}}`, /start needs log/],
    ['{"seq":1,"req":{"op":"explode"}}', /unknown op "explode"/],
  ];
  for (const [line, why] of bad) assert.throws(() => decodeRequest(line), (e: Error) => e instanceof ProtocolError && why.test(e.message), line);
});

test('responses: results and errors', () => {
  assert.deepEqual(decodeResponse(encodeResponse({ seq: 3, ok: true, result: { pid: 7 } }).trimEnd()), { seq: 3, ok: true, result: { pid: 7 } });
  assert.deepEqual(decodeResponse(encodeResponse({ seq: 4, ok: false, error: { code: 'not_found', message: 'no such container' } })), {
    seq: 4,
    ok: false,
    error: { code: 'not_found', message: 'no such container' },
  });
  assert.throws(() => decodeResponse('{"seq":1,"ok":false}'), ProtocolError);
  assert.deepEqual(RESULT_PARSERS.ping({ pid: 12 }), { pid: 12 });
  assert.throws(() => RESULT_PARSERS.list({}), ProtocolError);
});

test('container states are checked', () => {
  const exited = { id: ID, status: 'exited', pid: 5, startedAt: 1, exit: { exitCode: 137, finishedAt: 2, oomKilled: true, message: 'OOM killed' } };
  assert.deepEqual(parseState(exited), exited);
  assert.deepEqual(parseState({ id: ID, status: 'created' }), { id: ID, status: 'created' });
  assert.throws(() => parseState({ id: ID, status: 'exited' }), /must carry its exit/);
  assert.throws(() => parseState({ id: ID, status: 'paused' }), /status must be/);
  assert.throws(() => parseState({ id: ID, status: 'exited', exit: { exitCode: 'x' } }), /exit must be/);
});

test('lines are reassembled across chunks, multibyte characters included', () => {
  const r = new LineReader();
  const bytes = Buffer.from('{"a":"é"}\n{"b":1}\n{"c"');
  assert.deepEqual(r.push(bytes.subarray(0, 7)), []);
  assert.deepEqual(r.push(bytes.subarray(7)), ['{"a":"é"}', '{"b":1}']);
  assert.deepEqual(r.push(Buffer.from(':2}\n\n')), ['{"c":2}']);
  const small = new LineReader(8);
  assert.throws(() => small.push(Buffer.from('0123456789')), /longer than 8 bytes/);
});
