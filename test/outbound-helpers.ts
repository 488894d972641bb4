import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import ipaddr from 'ipaddr.js';

const TYPE_A = 1;
const TYPE_AAAA = 28;

/** The question of a DNS query: its name, type and where the question section ends. */
function parseQuestion(message: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let offset = 12;
  while (message[offset]! > 0) {
    const length = message[offset]!;
    labels.push(message.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += 1 + length;
  }
  return { name: labels.join('.').toLowerCase(), type: message.readUInt16BE(offset + 1), end: offset + 5 };
}

function answer(query: Buffer, question: { type: number; end: number }, addresses: string[] | undefined): Buffer {
  const rdata = (addresses ?? [])
    .map((a) => ipaddr.parse(a))
    .filter((ip) => (question.type === TYPE_A ? ip.kind() === 'ipv4' : question.type === TYPE_AAAA && ip.kind() === 'ipv6'))
    .map((ip) => Buffer.from(ip.toByteArray()));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, RD and RA set; rcode 3 (NXDOMAIN) for a name the zone does not have.
  header.writeUInt16BE(addresses ? 0x8180 : 0x8183, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdata.length, 6);
  const records = rdata.map((bytes) => {
    const record = Buffer.alloc(12);
    record.writeUInt16BE(0xc00c, 0);
    record.writeUInt16BE(question.type, 2);
    record.writeUInt16BE(1, 4);
    record.writeUInt32BE(0, 6);
    record.writeUInt16BE(bytes.length, 10);
    return Buffer.concat([record, bytes]);
  });
  return Buffer.concat([header, query.subarray(12, question.end), ...records]);
}

/**
 * A DNS server on 127.0.0.1 over UDP (a stand-in for remote parties' name servers): answers A
 * and AAAA queries from `zone`, NXDOMAIN for names it does not have, and never answers a query
 * `stalls` picks (a hostile or dead name server). `queries` lists every query received.
 */
export async function dnsServer(zone: Record<string, string[]>, stalls: (name: string, type: 'A' | 'AAAA' | number) => boolean) {
  const queries: Array<{ name: string; type: 'A' | 'AAAA' | number }> = [];
  const socket = dgram.createSocket('udp4');
  socket.on('message', (message, peer) => {
    const question = parseQuestion(message);
    const type = question.type === TYPE_A ? 'A' : question.type === TYPE_AAAA ? 'AAAA' : question.type;
    queries.push({ name: question.name, type });
    if (stalls(question.name, type)) return;
    socket.send(answer(message, question, zone[question.name]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    /** The server as `Resolver.setServers` takes it. */
    server: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * Occupies every thread of libuv's pool, as that many getaddrinfo calls waiting on a name
 * server that never answers do, until the returned function is called: each thread blocks
 * opening a FIFO for reading that nobody writes to. Work queued on the pool meanwhile
 * (`dns.lookup`, asynchronous `fs` calls) waits.
 */
export function holdThreadPool(): () => Promise<void> {
  const size = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'accord-pool-'));
  const fifos = Array.from({ length: size }, (_, i) => path.join(dir, `fifo-${i}`));
  for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
  const readers = fifos.map((fifo) => fsp.open(fifo, 'r'));
  return async () => {
    // Opening a FIFO read-write never blocks on Linux and lets the blocked readers' opens return.
    const writers = fifos.map((fifo) => fs.openSync(fifo, 'r+'));
    for (const reader of await Promise.all(readers)) await reader.close();
    for (const writer of writers) fs.closeSync(writer);
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
