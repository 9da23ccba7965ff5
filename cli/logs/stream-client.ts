// A GET whose body is a stream the daemon may keep open for as long as the
// user follows it (the logs endpoints), so it has no body timeout. It is
// DaemonClient.stream() on a client of its own, closed with the stream;
// callers holding a DaemonClient can call client.stream() directly.
import { DaemonClient, type DaemonAddress, type OpenedStream, type QueryValue } from '../http-client.js';

export type { OpenedStream } from '../http-client.js';

export async function openStream(address: DaemonAddress, path: string, query: Record<string, QueryValue>, headersTimeoutMs = 60_000): Promise<OpenedStream> {
  const client = new DaemonClient({ host: address.display, timeoutMs: headersTimeoutMs });
  let opened: OpenedStream;
  try {
    opened = await client.stream('GET', path, { query, headersTimeoutMs, bodyTimeoutMs: 0 });
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
  return {
    body: opened.body,
    contentType: opened.contentType,
    close: async () => {
      await opened.close();
      await client.close().catch(() => undefined);
    },
  };
}
