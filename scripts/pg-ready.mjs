// Exit 0 when a Postgres server accepts a connection at the URL given, 1 otherwise. No client
// library needed: a TCP connect with a short timeout is enough to decide whether to test on it.
import net from 'node:net';

const url = new URL(process.argv[2] ?? 'postgres://127.0.0.1:5432/postgres');
const socket = net.connect({ host: url.hostname || '127.0.0.1', port: Number(url.port || 5432) });
socket.setTimeout(1500);
socket.on('connect', () => {
  socket.destroy();
  process.exit(0);
});
socket.on('timeout', () => process.exit(1));
socket.on('error', () => process.exit(1));
