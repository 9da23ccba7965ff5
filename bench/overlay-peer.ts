// The two ends of the overlay bench, run inside a container's network
// namespace (`nsenter --net=... node overlay-peer.js`):
//   server PORT                  sinks bulk streams; echoes single bytes
//   bulk HOST PORT SECONDS        sends for SECONDS; prints {"bytes", "ms"}
//   rtt HOST PORT COUNT           COUNT one-byte round trips; prints {"us": [...]}
import { connect, createServer } from 'node:net';

const [mode, a, b, c] = process.argv.slice(2);

if (mode === 'server') {
  const server = createServer((s) => {
    s.setNoDelay(true);
    let echo: boolean | undefined;
    s.on('data', (chunk: Buffer) => {
      // The first byte says what the connection is for: 'e' echo, anything else bulk.
      echo ??= chunk[0] === 0x65;
      if (echo) s.write(chunk.subarray(0, 1));
    });
    s.on('error', () => undefined);
  });
  server.listen(Number(a), '0.0.0.0', () => process.stdout.write('ready\n'));
} else if (mode === 'bulk') {
  const s = connect(Number(b), a!, () => {
    const chunk = Buffer.alloc(256 * 1024, 0x62);
    const until = Date.now() + Number(c) * 1000;
    const started = performance.now();
    let bytes = 0;
    const pump = (): void => {
      while (Date.now() < until) {
        bytes += chunk.length;
        if (!s.write(chunk)) return void s.once('drain', pump);
      }
      s.end(() => {
        process.stdout.write(`${JSON.stringify({ bytes, ms: performance.now() - started })}\n`);
        s.destroy();
      });
    };
    pump();
  });
} else if (mode === 'rtt') {
  const s = connect(Number(b), a!, () => {
    s.setNoDelay(true);
    const us: number[] = [];
    let t0 = 0;
    const one = (): void => {
      t0 = performance.now();
      s.write('e');
    };
    s.on('data', () => {
      us.push((performance.now() - t0) * 1000);
      if (us.length >= Number(c)) {
        process.stdout.write(`${JSON.stringify({ us })}\n`);
        s.destroy();
      } else one();
    });
    one();
  });
} else {
  process.stderr.write('usage: overlay-peer server PORT | bulk HOST PORT SECONDS | rtt HOST PORT COUNT\n');
  process.exitCode = 2;
}
