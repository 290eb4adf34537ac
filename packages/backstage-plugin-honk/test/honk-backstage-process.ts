/**
 * Starts honk-backstage-server.ts (a real Backstage backend with Honk's plugins) in a child
 * Node process and talks to it: its base URL, user tokens, the clients a frontend would use
 * (a real HonkClient and CatalogClient over HTTP with the user's token), and the commands the
 * server answers (a real agent, SQL, the task records).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CatalogClient } from '@backstage/catalog-client';
import { HonkClient } from '@honk/backstage-plugin-honk-common';

export interface HonkBackstageProcess {
  base: string;
  /** How long the backend took from start until every dataset entity was in the catalog. */
  readyMs: number;
  tokens: { alice: string; mallory: string };
  /** Discovery and fetch as the app gives them, signed in as `user` (alice by default). */
  discoveryApi: { getBaseUrl(pluginId: string): Promise<string> };
  fetchApi(user?: 'alice' | 'mallory'): { fetch: typeof fetch };
  honkClient(user?: 'alice' | 'mallory'): HonkClient;
  catalogClient(user?: 'alice' | 'mallory'): CatalogClient;
  command<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

export async function startHonkBackstageProcess(
  options: { extraDatasets?: number } = {},
): Promise<HonkBackstageProcess> {
  const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'honk-backstage-server.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, HONK_TEST_EXTRA_DATASETS: String(options.extraDatasets ?? 0) },
  });
  const lines = createInterface({ input: child.stdout! });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  const ready = new Promise<{ base: string; readyMs: number; tokens: { alice: string; mallory: string } }>(
    (resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`honk-backstage-server exited with ${code} before it was ready`)));
      lines.on('line', (line) => {
        if (!line.startsWith('{')) return;
        const message = JSON.parse(line) as {
          id?: number;
          base?: string;
          ok?: boolean;
          result?: unknown;
          error?: string;
        };
        if (message.base) {
          resolve(message as never);
          return;
        }
        const waiter = message.id === undefined ? undefined : pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id!);
        if (message.ok) waiter.resolve(message.result);
        else waiter.reject(new Error(message.error));
      });
    },
  );
  const { base, tokens, readyMs } = await ready;
  const discoveryApi = { getBaseUrl: async (pluginId: string) => `${base}/api/${pluginId}` };
  const fetchApi = (user: 'alice' | 'mallory' = 'alice') => ({
    fetch: ((input: RequestInfo | URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${tokens[user]}`);
      // jsdom's AbortSignal is not Node's: requests go without one.
      const { signal: _signal, ...rest } = init;
      return fetch(input, { ...rest, headers });
    }) as typeof fetch,
  });
  const command = <T>(cmd: string, args: Record<string, unknown> = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    });
  return {
    base,
    readyMs,
    tokens,
    discoveryApi,
    fetchApi,
    honkClient: (user) => new HonkClient({ discoveryApi, fetchApi: fetchApi(user) }),
    catalogClient: (user) => new CatalogClient({ discoveryApi, fetchApi: fetchApi(user) }),
    command,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await command('stop').catch(() => {});
      child.stdin!.end();
      await exited;
    },
  };
}
