import { createSocket, type RemoteInfo } from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A tiny name server on UDP for the resolver tests: answers A queries for the names it knows
 * (after `delayMs`), answers nothing for AAAA, and never answers names it does not know, like a
 * tenant's name server that has gone silent.
 */
export interface TestDnsServer {
  /** `127.0.0.1:port`, for `setServers`. */
  address: string;
  /** Queries received so far, by name. */
  queries: string[];
  close(): Promise<void>;
}

function questionName(message: Buffer): { name: string; end: number } {
  const labels: string[] = [];
  let offset = 12;
  for (let length = message[offset] ?? 0; length > 0; length = message[offset] ?? 0) {
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += length + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: offset + 5 };
}

function answer(query: Buffer, end: number, address: string | null): Buffer {
  const header = Buffer.from(query.subarray(0, 12));
  header.writeUInt16BE(0x8180, 2); // response, recursion desired and available, no error
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(address ? 1 : 0, 6);
  header.writeUInt16BE(0, 8);
  header.writeUInt16BE(0, 10);
  const question = query.subarray(12, end);
  if (!address) return Buffer.concat([header, question]);
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  record.writeUInt16BE(1, 2); // A
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(60, 6);
  record.writeUInt16BE(4, 10);
  address.split('.').forEach((part, i) => {
    record.writeUInt8(Number(part), 12 + i);
  });
  return Buffer.concat([header, question, record]);
}

export async function startDnsServer(options: {
  records: Record<string, string>;
  delayMs?: number;
}): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const queries: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  socket.on('message', (message: Buffer, peer: RemoteInfo) => {
    const { name, end } = questionName(message);
    queries.push(name);
    const known = options.records[name];
    if (known === undefined) return;
    const type = message.readUInt16BE(end - 4);
    const reply = answer(message, end, type === 1 ? known : null);
    const timer = setTimeout(() => {
      timers.delete(timer);
      socket.send(reply, peer.port, peer.address);
    }, options.delayMs ?? 0);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    queries,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        socket.close(() => resolve());
      }),
  };
}
