// Writes one container's output as a json-file log with rotation (used by the
// monitor). Writes are synchronous: they land in the page cache in
// microseconds, and a reader following the file then sees lines in order.
// No fsync: a log is not worth a disk flush per line.
import { closeSync, fstatSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { encodeLine, formatTimeNs, LineSplitter, LOG_FILE, rotationRenames, type LogRotation, type LogStream } from './json-log.js';

/** Wall-clock nanoseconds that never go backwards within this process. */
const epochNsAtStart = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
export function nowNs(): bigint {
  return epochNsAtStart + process.hrtime.bigint();
}

export class JsonLogWriter {
  private fd: number;
  private size: number;
  private readonly splitters: Record<LogStream, LineSplitter> = { stdout: new LineSplitter(), stderr: new LineSplitter() };

  constructor(
    private readonly dir: string,
    private readonly rotation: LogRotation,
  ) {
    this.fd = openSync(join(dir, LOG_FILE), 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  write(stream: LogStream, chunk: Buffer, time = nowNs()): void {
    for (const line of this.splitters[stream].push(chunk)) this.append(stream, line, time);
  }

  /** The stream ended: a last line without a newline is written as it is. */
  endStream(stream: LogStream, time = nowNs()): void {
    for (const line of this.splitters[stream].end()) this.append(stream, line, time);
  }

  close(): void {
    if (this.fd < 0) return;
    this.endStream('stdout');
    this.endStream('stderr');
    closeSync(this.fd);
    this.fd = -1;
  }

  private append(stream: LogStream, line: Buffer, time: bigint): void {
    if (this.fd < 0) return;
    const data = Buffer.from(encodeLine(stream, line.toString('utf8'), formatTimeNs(time)));
    if (this.size > 0 && this.size + data.length > this.rotation.maxSize) this.rotate();
    writeSync(this.fd, data);
    this.size += data.length;
  }

  private rotate(): void {
    this.size = 0;
    if (this.rotation.maxFiles <= 1) {
      // Nothing to rename to: the file starts again, as Docker's does.
      ftruncateSync(this.fd, 0);
      return;
    }
    closeSync(this.fd);
    for (const r of rotationRenames(this.rotation.maxFiles)) {
      try {
        renameSync(join(this.dir, r.from), join(this.dir, r.to));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    this.fd = openSync(join(this.dir, LOG_FILE), 'a', 0o640);
  }
}
