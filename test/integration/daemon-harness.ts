// The integration tests' view of the daemon fixture (test/fixtures/daemons.ts).
export { type ApiResponse, DaemonCluster, DaemonProcess, eventually, freePort, MAIN, ms } from '../fixtures/daemons.js';
