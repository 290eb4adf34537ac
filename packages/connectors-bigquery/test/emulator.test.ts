/**
 * The emulator as a server: no request of the client leaves loopback (REST and the Storage
 * Read API's gRPC), routes answer with and without the `/bigquery/v2` prefix, errors have
 * BigQuery's body, and the `honk-bigquery-emulator` command starts, prints both endpoints
 * and stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { ConnectorRegistry, runTask } from '@honk/core';
import { createMemoryConnector, MemoryStorage, makeTrickyBatch } from '@honk/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bigQueryConnector } from '../src/index.ts';
import { type EmulatorHarness, startEmulatorHarness } from './helpers/emulator-setup.ts';

let h: EmulatorHarness;
beforeAll(async () => {
  h = await startEmulatorHarness(['net']);
});
afterAll(async () => h?.emulator.stop());

function isLoopback(address: string): boolean {
  return address === 'localhost' || address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';
}

describe('emulator', () => {
  it('a transfer there and back opens sockets to loopback only', async () => {
    const connections: string[] = [];
    // Every TCP connection this process opens (http, undici's fetch, the auth library's probes).
    const onSocket = (message: unknown) => {
      const socket = (
        message as { socket: { once(event: string, listener: () => void): void; remoteAddress?: string } }
      ).socket;
      socket.once('connect', () => connections.push(socket.remoteAddress ?? 'unknown'));
    };
    subscribe('net.client.socket', onSocket);
    try {
      const storage = new MemoryStorage();
      const batch = makeTrickyBatch(0, 500, { lists: false });
      storage.set('in', batch.schema, [batch]);
      const registry = new ConnectorRegistry([bigQueryConnector, createMemoryConnector({ default: storage })]);
      const there = await runTask({
        task: {
          id: 'loopback-out',
          source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'in' } },
          target: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table: 'net.orders' } },
        },
        connectors: registry,
      });
      expect(there.ok).toBe(true);
      const back = await runTask({
        task: {
          id: 'loopback-back',
          source: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table: 'net.orders' } },
          target: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'out' } },
        },
        connectors: registry,
      });
      expect(back.ok).toBe(true);
      // And through the Storage Read API (gRPC over HTTP/2, another socket stack).
      const storageBack = await runTask({
        task: {
          id: 'loopback-storage',
          source: {
            connector: 'bigquery',
            connection: 'bq',
            options: h.options,
            endpoint: { table: 'net.orders', readApi: 'storage' },
          },
          target: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'out-storage' } },
        },
        connectors: registry,
      });
      expect(storageBack.ok, storageBack.error?.message).toBe(true);
      expect(h.emulator.storage!.requests.some((request) => request.method === 'ReadRows')).toBe(true);
    } finally {
      unsubscribe('net.client.socket', onSocket);
    }
    expect(connections.length).toBeGreaterThan(0);
    expect(connections.filter((address) => !isLoopback(address))).toEqual([]);
    expect(h.emulator.requests.every((request) => isLoopback(request.remoteAddress))).toBe(true);
    expect(h.emulator.storage!.requests.every((request) => isLoopback(request.peer.replace(/^ipv4:|:\d+$/g, '')))).toBe(
      true,
    );
    expect(isIP(new URL(h.emulator.endpoint).hostname)).toBe(4);
  });

  it('answers with and without the /bigquery/v2 prefix, errors in the API shape', async () => {
    const withPrefix = await fetch(`${h.emulator.endpoint}/bigquery/v2/projects/${h.emulator.project}/datasets/net`);
    const without = await fetch(`${h.emulator.endpoint}/projects/${h.emulator.project}/datasets/net`);
    expect(await withPrefix.json()).toEqual(await without.json());
    const missing = await fetch(`${h.emulator.endpoint}/projects/${h.emulator.project}/datasets/net/tables/none`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: {
        code: 404,
        message: `Not found: Table ${h.emulator.project}:net.none`,
        errors: [{ message: `Not found: Table ${h.emulator.project}:net.none`, domain: 'global', reason: 'notFound' }],
        status: 'NOT_FOUND',
      },
    });
  });

  it('honk-bigquery-emulator prints its endpoint when ready and stops on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../bin/honk-bigquery-emulator.js', import.meta.url));
    const child = spawn(
      process.execPath,
      [bin, '--port', '0', '--storage-port', '0', '--project', 'cli', '--dataset', 'demo'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const [endpoint, storageEndpoint] = await new Promise<string[]>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match =
          /listening on (http:\/\/127\.0\.0\.1:\d+) .*; Storage Read API \(gRPC\) on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(
            output,
          );
        if (match) resolve([match[1] as string, match[2] as string]);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
    // The gRPC endpoint it printed answers.
    const grpcClient = new grpc.Client(new URL(storageEndpoint as string).host, grpc.credentials.createInsecure());
    await new Promise<void>((resolve, reject) =>
      grpcClient.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
    );
    grpcClient.close();
    const datasets = (await (await fetch(`${endpoint}/bigquery/v2/projects/cli/datasets`)).json()) as {
      datasets: { datasetReference: { datasetId: string } }[];
    };
    expect(datasets.datasets.map((dataset) => dataset.datasetReference.datasetId)).toEqual(['demo']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
