import type { Server } from 'node:net';

/** Starts listening; resolves with the bound port and the host as it goes in a URL ([::1] for IPv6). */
export async function listen(server: Server, port: number, host: string): Promise<{ port: number; urlHost: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`listening on ${host}:${port} gave no TCP address`);
  return { port: address.port, urlHost: address.family === 'IPv6' ? `[${address.address}]` : address.address };
}
