/** The demo's in-process MQTT broker (aedes, MQTT 3.1.1) on localhost: zero set-up, never for a real unit. */
import net from 'node:net';

export interface InProcessBroker {
  url: string;
  close(): Promise<void>;
}

export async function startInProcessBroker(): Promise<InProcessBroker> {
  // aedes is an ES module; Node 20.19+ loads it with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Aedes } = require('aedes') as { Aedes: { createBroker(): Promise<{ handle: (s: net.Socket) => void; close(cb: () => void): void }> } };
  const broker = await Aedes.createBroker();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => server.close(() => resolve()));
        // connections still open (a client that did not say goodbye) must not hold the close
        for (const s of sockets) s.destroy();
      }),
  };
}
