// Entry of a responder process, started by ProcessDnsHost inside an overlay's
// network namespace (Node cannot switch namespaces itself):
//   ip netns exec <ns> node responder-main.js --listen <ip> --socket <unix path> [--port 53]
// It takes its records from the daemon over the unix socket and lives exactly
// as long as that connection: when the daemon goes, the socket closes and the
// responder exits, so no resolver outlives the daemon that owns it.
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { createLogger } from '../../../shared/logger.js';
import { encodeLine, LineSplitter, parseToResponder, type FromResponder } from './control.js';
import { Responder } from './responder.js';

/** The daemon's forwarder gives up well before this; it only guards against a lost reply. */
const FORWARD_DEADLINE_MS = 15_000;

function main(): void {
  const { values } = parseArgs({
    options: { listen: { type: 'string' }, socket: { type: 'string' }, port: { type: 'string', default: '53' } },
    strict: true,
  });
  const log = createLogger({ name: 'dns-responder' });
  const port = Number(values.port);
  if (values.listen === undefined || values.socket === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: responder-main.js --listen <ip> --socket <unix socket path> [--port <0-65535>]\n');
    process.exit(2);
  }

  const control = connect(values.socket);
  const send = (msg: FromResponder): void => {
    control.write(encodeLine(msg));
  };
  const pending = new Map<number, (packet: Buffer | undefined) => void>();
  let nextId = 0;
  const forward = (packet: Buffer, tcp: boolean): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(undefined);
      }, FORWARD_DEADLINE_MS);
      pending.set(id, (reply) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(reply);
      });
      send({ type: 'forward', id, packet: packet.toString('base64'), tcp });
    });

  const responder = new Responder({ listenIp: values.listen, port, forward, logger: log });
  let listening = false;
  const lines = new LineSplitter();

  control.on('data', (chunk: Buffer) => {
    let messages: string[];
    try {
      messages = lines.push(chunk);
    } catch (err) {
      log.error({ err }, 'daemon sent an unreadable control stream; exiting for the daemon to restart us');
      process.exit(1);
    }
    for (const line of messages) {
      let msg;
      try {
        msg = parseToResponder(line);
      } catch (err) {
        log.error({ err }, 'daemon sent an invalid control message; exiting for the daemon to restart us');
        process.exit(1);
      }
      if (msg.type === 'forwarded') {
        pending.get(msg.id)?.(msg.packet === null ? undefined : Buffer.from(msg.packet, 'base64'));
        continue;
      }
      responder.setZone(msg.zone);
      if (!listening) {
        listening = true;
        responder.listen().then(
          (bound) => send({ type: 'ready', port: bound }),
          (err: unknown) => {
            log.error({ err, listen: values.listen, port }, 'cannot listen for DNS; is the address configured in this namespace?');
            process.exit(3);
          },
        );
      }
    }
  });
  control.on('error', (err: NodeJS.ErrnoException) => {
    // A reset is the daemon going away, the same as a close: our cue to leave.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') process.exit(0);
    log.error({ err, socket: values.socket }, 'control socket failed; exiting');
    process.exit(1);
  });
  control.on('close', () => process.exit(0));
}

main();
