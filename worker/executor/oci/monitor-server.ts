// The monitor's side of monitor.sock: reads requests line by line, answers
// each when it is done (a `wait` only when its container exits), and drops a
// connection's pending waits when it closes.
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { isShoalError } from '../../../shared/errors.js';
import type { Logger } from '../../../shared/logger.js';
import type { Monitor } from './monitor.js';
import { decodeRequest, encodeResponse, LineReader, ProtocolError, type MonitorResponse } from './monitor-protocol.js';

export interface MonitorServer {
  /** Clients connected now (executors of a running daemon). */
  clients(): number;
  close(): Promise<void>;
}

export async function serveMonitor(monitor: Monitor, socketPath: string, log: Logger, onShutdown: () => void): Promise<MonitorServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const gone = new AbortController();
    const reader = new LineReader();
    const send = (r: MonitorResponse): void => {
      if (!socket.destroyed && socket.writable) socket.write(encodeResponse(r));
    };
    socket.on('data', (chunk: Buffer) => {
      let lines: string[];
      try {
        lines = reader.push(chunk);
      } catch (err) {
        log.warn({ err }, 'dropping a monitor client that sent garbage');
        socket.destroy();
        return;
      }
      for (const line of lines) {
        let seq = -1;
        try {
          const { seq: s, req } = decodeRequest(line);
          seq = s;
          monitor.handle(req, gone.signal).then(
            (result) => {
              send({ seq, ok: true, result });
              if (req.op === 'shutdown') onShutdown();
            },
            (err: unknown) => send({ seq, ok: false, error: errorOf(err) }),
          );
        } catch (err) {
          send({ seq, ok: false, error: errorOf(err) });
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      gone.abort();
    });
  });
  await rm(socketPath, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(socketPath, 0o600);
  return {
    clients: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function errorOf(err: unknown): { code: string; message: string } {
  if (isShoalError(err)) return { code: err.code, message: err.message };
  if (err instanceof ProtocolError) return { code: 'bad_request', message: err.message };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}
