// `shoal image ls` and `shoal image pull` output, byte for byte as the docker
// CLI prints them: the image table (a row per tag, <none> for untagged, go-units
// sizes and durations) and jsonmessage's non-terminal progress lines.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonMessageDecoder, messageError, pullMessageText } from '../../../cli/format/image-pull.js';
import { createdSince, formatG, formatImageIds, formatImageTable, humanSizeWithPrecision, imageRows, truncateId } from '../../../cli/format/image.js';
import type { ImageSummary } from '../../../manager/api/image-types.js';

const NOW = Date.parse('2024-06-01T12:00:00Z');
const HOUR = 3600;
const DAY = 24 * HOUR;
const nowSeconds = NOW / 1000;
const D1 = `sha256:${'d1'.repeat(32)}`;
const D2 = `sha256:${'d2'.repeat(32)}`;

function summary(id: string, over: Partial<ImageSummary> = {}): ImageSummary {
  return { Id: `sha256:${id.repeat(64 / id.length)}`, ParentId: '', RepoTags: [], RepoDigests: [], Created: nowSeconds - 2 * DAY, Size: 4_400_000, SharedSize: -1, Labels: {}, Containers: -1, ...over };
}

describe('image format units', () => {
  it("formatG is Go's %.3g: significant digits, no trailing zeros, exponent from 1000 up", () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [5, '5'],
      [12.3456, '12.3'],
      [1.2, '1.2'],
      [100, '100'],
      [999.4, '999'],
      [999.6, '1e+03'],
      [4.4, '4.4'],
      [0.000123456, '0.000123'],
      [0.0000123, '1.23e-05'],
    ];
    for (const [v, want] of cases) assert.equal(formatG(v, 3), want, String(v));
  });

  it('humanSizeWithPrecision uses decimal units with 3 significant digits', () => {
    const cases: Array<[number, string]> = [
      [0, '0B'],
      [999, '999B'],
      [1000, '1kB'],
      [1234, '1.23kB'],
      [4_400_000, '4.4MB'],
      [1_234_567, '1.23MB'],
      [999_999, '1e+03kB'],
      [72_900_000, '72.9MB'],
      [1_500_000_000, '1.5GB'],
    ];
    for (const [v, want] of cases) assert.equal(humanSizeWithPrecision(v, 3), want, String(v));
  });

  it("createdSince words durations as go-units' HumanDuration, plus \" ago\"", () => {
    const cases: Array<[number, string]> = [
      [0, 'Less than a second ago'],
      [-30, 'Less than a second ago'],
      [1, '1 second ago'],
      [45, '45 seconds ago'],
      [90, 'About a minute ago'],
      [59 * 60, '59 minutes ago'],
      [HOUR, 'About an hour ago'],
      [HOUR + 29 * 60, 'About an hour ago'],
      [HOUR + 31 * 60, '2 hours ago'],
      [47 * HOUR, '47 hours ago'],
      [2 * DAY, '2 days ago'],
      [13 * DAY, '13 days ago'],
      [14 * DAY, '2 weeks ago'],
      [60 * DAY, '2 months ago'],
      [800 * DAY, '2 years ago'],
    ];
    for (const [ago, want] of cases) assert.equal(createdSince(nowSeconds - ago, NOW), want, `${ago}s`);
  });

  it('truncateId drops the algorithm and keeps 12 hex digits', () => {
    assert.equal(truncateId(`sha256:${'0123456789abcdef'.repeat(4)}`), '0123456789ab');
    assert.equal(truncateId('0123456789abcdef'), '0123456789ab');
  });
});

describe('image table', () => {
  it('docker image ls: one row per tag, familiar names, aligned like docker', () => {
    const app = summary('a1', { RepoTags: ['127.0.0.1:5000/e2e/app:1', '127.0.0.1:5000/e2e/app:latest'], RepoDigests: [`127.0.0.1:5000/e2e/app@${D1}`], Size: 1_234_567, Created: nowSeconds - HOUR });
    const hub = summary('b2', { RepoTags: ['busybox:1.36'], RepoDigests: [`busybox@${D2}`], Size: 4_400_000, Created: nowSeconds - 3 * DAY });
    // tabwriter: each column as wide as its widest cell plus 3, at least 10.
    const row = (...cells: string[]): string => [cells[0]!.padEnd(25), cells[1]!.padEnd(10), cells[2]!.padEnd(15), cells[3]!.padEnd(20), cells[4]].join('');
    assert.equal(
      formatImageTable([app, hub], { now: NOW }),
      [
        row('REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'),
        row('127.0.0.1:5000/e2e/app', '1', 'a1a1a1a1a1a1', 'About an hour ago', '1.23MB'),
        row('127.0.0.1:5000/e2e/app', 'latest', 'a1a1a1a1a1a1', 'About an hour ago', '1.23MB'),
        row('busybox', '1.36', 'b2b2b2b2b2b2', '3 days ago', '4.4MB'),
        '',
      ].join('\n'),
    );
  });

  it('an image known only by digest shows <none> as its tag; a dangling image is <none> <none>', () => {
    const byDigest = summary('c3', { RepoDigests: [`127.0.0.1:5000/e2e/app@${D1}`] });
    const dangling = summary('d4');
    const rows = imageRows([byDigest, dangling]);
    assert.deepEqual(
      rows.map((r) => [r.repository, r.tag, r.digest]),
      [
        ['127.0.0.1:5000/e2e/app', '<none>', ''],
        ['<none>', '<none>', '<none>'],
      ],
    );
    const table = formatImageTable([dangling], { now: NOW });
    assert.match(table.split('\n')[1] ?? '', /^<none>\s+<none>\s+d4d4d4d4d4d4\s+2 days ago\s+4\.4MB$/);
  });

  it('--digests adds a DIGEST column: a row per tag and digest, and per digest-only reference', () => {
    const img = summary('a1', {
      RepoTags: ['127.0.0.1:5000/e2e/app:1'],
      RepoDigests: [`127.0.0.1:5000/e2e/app@${D1}`, `127.0.0.1:5000/other@${D2}`],
    });
    assert.deepEqual(
      imageRows([img], true).map((r) => [r.repository, r.tag, r.digest]),
      [
        ['127.0.0.1:5000/e2e/app', '1', D1],
        ['127.0.0.1:5000/other', '<none>', D2],
      ],
    );
    const lines = formatImageTable([img], { now: NOW, digests: true }).split('\n');
    assert.match(lines[0] ?? '', /^REPOSITORY\s+TAG\s+DIGEST\s+IMAGE ID\s+CREATED\s+SIZE$/);
    assert.ok(lines[1]?.includes(D1), 'full digests, never truncated');
    // Without --digests the digest-only repository still gets its row.
    assert.deepEqual(
      imageRows([img]).map((r) => [r.repository, r.tag]),
      [
        ['127.0.0.1:5000/e2e/app', '1'],
        ['127.0.0.1:5000/other', '<none>'],
      ],
    );
  });

  it('the header alone when there are no images; --no-trunc shows the full ID', () => {
    assert.equal(formatImageTable([], { now: NOW }), 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
    const img = summary('a1', { RepoTags: ['app:1'] });
    assert.ok(formatImageTable([img], { now: NOW, noTrunc: true }).includes(img.Id));
  });

  it('-q prints an ID per row, so a twice-tagged image shows twice, as docker does', () => {
    const img = summary('a1', { RepoTags: ['app:1', 'app:2'] });
    assert.equal(formatImageIds([img, summary('e5')]), 'a1a1a1a1a1a1\na1a1a1a1a1a1\ne5e5e5e5e5e5\n');
    assert.equal(formatImageIds([img], { noTrunc: true }), `${img.Id}\n${img.Id}\n`);
  });

  it('entries docker cannot parse are skipped, a bare name is not a tag', () => {
    const img = summary('a1', { RepoTags: ['NOT VALID:1', 'app', 'app:2'] });
    assert.deepEqual(
      imageRows([img]).map((r) => [r.repository, r.tag]),
      [['app', '2']],
    );
  });
});

describe('pull progress display', () => {
  it('prints statuses, `id: status` for layers, and leaves out byte-count progress', () => {
    const messages = [
      { status: 'Pulling from e2e/app', id: '1' },
      { status: 'Pulling fs layer', id: 'aaaaaaaaaaaa', progressDetail: {} },
      { status: 'Downloading', id: 'aaaaaaaaaaaa', progressDetail: { current: 100, total: 200 }, progress: '[==>  ] 100B/200B' },
      { status: 'Verifying Checksum', id: 'aaaaaaaaaaaa', progressDetail: {} },
      { status: 'Download complete', id: 'aaaaaaaaaaaa', progressDetail: {} },
      { status: 'Extracting', id: 'aaaaaaaaaaaa', progressDetail: { current: 200, total: 200 }, progress: '[=====] 200B/200B' },
      { status: 'Pull complete', id: 'aaaaaaaaaaaa', progressDetail: {} },
      { status: `Digest: ${D1}` },
      { status: 'Status: Downloaded newer image for 127.0.0.1:5000/e2e/app:1' },
    ];
    assert.equal(
      messages.map(pullMessageText).join(''),
      [
        '1: Pulling from e2e/app',
        'aaaaaaaaaaaa: Pulling fs layer',
        'aaaaaaaaaaaa: Verifying Checksum',
        'aaaaaaaaaaaa: Download complete',
        'aaaaaaaaaaaa: Pull complete',
        `Digest: ${D1}`,
        'Status: Downloaded newer image for 127.0.0.1:5000/e2e/app:1',
        '',
      ].join('\n'),
    );
  });

  it('a progress string without byte counts is printed after the status (the deprecated field); aux is silent', () => {
    assert.equal(pullMessageText({ status: 'Waiting', id: 'bb', progress: 'for layer' }), 'bb: Waiting for layer');
    assert.equal(pullMessageText({ aux: { ID: 'x' } }), '');
    assert.equal(pullMessageText({ stream: 'Step 1/2\n' }), 'Step 1/2\n');
  });

  it('messageError reads errorDetail, else the older error field', () => {
    assert.equal(messageError({ errorDetail: { message: 'manifest unknown' }, error: 'manifest unknown' }), 'manifest unknown');
    assert.equal(messageError({ error: 'only the old field' }), 'only the old field');
    assert.equal(messageError({ status: 'Pull complete' }), undefined);
  });

  it('the decoder joins messages split across chunks, and multi-byte characters too', () => {
    const decoder = new JsonMessageDecoder();
    const text = '{"status":"Pulling from e2e/app","id":"1"}\r\n{"status":"Status: héllo"}\r\n{"status":"tail"}';
    const bytes = Buffer.from(text);
    const cut = text.indexOf('é') + 1; // inside the two bytes of "é"
    const got = [...decoder.push(bytes.subarray(0, 10)), ...decoder.push(bytes.subarray(10, cut)), ...decoder.push(bytes.subarray(cut)), ...decoder.end()];
    assert.deepEqual(got, [{ status: 'Pulling from e2e/app', id: '1' }, { status: 'Status: héllo' }, { status: 'tail' }]);
  });

  it('a line that is not a JSON object is a clear error', () => {
    assert.throws(() => new JsonMessageDecoder().push(Buffer.from('<html>oops</html>\n')), /progress line that is not JSON: <html>/);
    assert.throws(() => new JsonMessageDecoder().push(Buffer.from('[1,2]\n')), /not a JSON object/);
  });
});
