/**
 * How errors Honk did not raise itself are classified: deterministic failures (a TypeError,
 * a RangeError, a missing file) are never retried; network and resource-exhaustion errors
 * are, also when they hide in a `cause`; a full disk is NO_SPACE. The errors here are real
 * ones produced by the OS and Node (a refused connection, fetch against a closed port,
 * writing to /dev/full) wherever the machine can produce them.
 */
import { promises as fs } from 'node:fs';
import { connect, createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConfigError,
  describeError,
  HonkError,
  InternalError,
  isHonkError,
  NO_SPACE_RETRY_AFTER_MS,
  NoSpaceError,
  TimedOutError,
  TransientError,
  toHonkError,
} from '../../src/index.ts';

/** A TCP port nobody listens on: bound once, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function caught(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('toHonkError', () => {
  it('does not retry a TypeError or RangeError: a bug or bad data fails the same way again', () => {
    for (const error of [
      new TypeError("Cannot read properties of undefined (reading 'x')"),
      new RangeError('offset out of range'),
    ]) {
      const honk = toHonkError(error, { connector: 'pg', operation: 'read()' });
      expect(honk.code).toBe('INTERNAL');
      expect(honk.retryable).toBe(false);
      expect(honk.message).toContain('Connector "pg" failed in read()');
      expect(honk.message).toContain(error.name);
      expect(honk.details).toMatchObject({ connector: 'pg', operation: 'read()' });
      expect(InternalError.isInstance(honk) && honk.connector).toBe('pg');
    }
    expect(toHonkError(new Error('unexpected')).retryable).toBe(false);
    expect(toHonkError('a thrown string').retryable).toBe(false);
  });

  it('does not retry a missing file (ENOENT) and keeps its system code', async () => {
    const error = await caught(() => fs.readFile('/nonexistent/honk/file.csv'));
    const honk = toHonkError(error, { connector: 'file', operation: 'read()' });
    expect(honk).toMatchObject({ code: 'INTERNAL', retryable: false });
    expect(InternalError.isInstance(honk) && honk.systemCode).toBe('ENOENT');
  });

  it('retries a refused connection (a real ECONNREFUSED)', async () => {
    const port = await closedPort();
    const error = await caught(
      () =>
        new Promise((resolve, reject) => {
          const socket = connect(port, '127.0.0.1');
          socket.once('connect', resolve);
          socket.once('error', reject);
        }),
    );
    const honk = toHonkError(error, { connector: 'api', operation: 'read()' });
    expect(honk).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect(honk.details).toMatchObject({ systemCode: 'ECONNREFUSED', connector: 'api' });
    expect(TransientError.isInstance(honk)).toBe(true);
  });

  it('retries fetch() failing on a closed port: a TypeError whose cause is the socket error', async () => {
    const port = await closedPort();
    const error = await caught(() => fetch(`http://127.0.0.1:${port}/`));
    expect(error).toBeInstanceOf(TypeError);
    const honk = toHonkError(error);
    expect(honk).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect(honk.details.systemCode).toBe('ECONNREFUSED');
  });

  it('classifies each system code of the table deliberately', () => {
    const withCode = (code: string) => Object.assign(new Error(`${code}: failed`), { code });
    for (const code of [
      'ECONNRESET',
      'ETIMEDOUT',
      'EPIPE',
      'EAI_AGAIN',
      'ENOTFOUND',
      'EMFILE',
      'ENFILE',
      'EBUSY',
      'UND_ERR_SOCKET',
    ]) {
      expect(toHonkError(withCode(code)), code).toMatchObject({ code: 'TRANSIENT', retryable: true });
    }
    for (const code of ['EACCES', 'EPERM', 'ENOENT', 'EISDIR', 'EIO', 'ERR_INVALID_ARG_TYPE']) {
      expect(toHonkError(withCode(code)), code).toMatchObject({ code: 'INTERNAL', retryable: false });
    }
    for (const code of ['ENOSPC', 'EDQUOT']) {
      expect(toHonkError(withCode(code)), code).toMatchObject({ code: 'NO_SPACE', retryable: true });
    }
    // A connection attempt to every address of a host fails as one AggregateError.
    const aggregate = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed');
    expect(toHonkError(aggregate).code).toBe('TRANSIENT');
    // AbortSignal.timeout() reasons are deadlines.
    expect(toHonkError(AbortSignal.timeout(0).reason ?? new DOMException('t', 'TimeoutError')).retryable).toBe(true);
  });

  it('turns a real ENOSPC (writing to /dev/full) into NO_SPACE naming the path and the free space', async () => {
    const error = await caught(() => fs.writeFile('/dev/full', Buffer.alloc(4096)));
    expect((error as { code?: string }).code).toBe('ENOSPC');
    // write(2) errors carry no path: the guard passes the location the sink writes to.
    expect((error as { path?: string }).path).toBeUndefined();
    const honk = await describeError(error, {
      connector: 'file',
      operation: 'write()',
      path: '/dev/full',
      neededBytes: 4096,
    });
    expect(honk).toMatchObject({ code: 'NO_SPACE', retryable: true, retryAfterMs: NO_SPACE_RETRY_AFTER_MS });
    if (!NoSpaceError.isInstance(honk)) throw new Error('expected a NoSpaceError');
    expect(honk.path).toBe('/dev/full');
    expect(honk.neededBytes).toBe(4096);
    expect(typeof honk.freeBytes).toBe('number');
    expect(typeof honk.totalBytes).toBe('number');
    expect(honk.message).toContain('/dev/full');
    expect(honk.message).toContain('free');
    expect(honk.message).toContain('4.0 KiB');
    expect(honk.toJSON()).toMatchObject({
      code: 'NO_SPACE',
      retryAfterMs: NO_SPACE_RETRY_AFTER_MS,
      details: { path: '/dev/full' },
    });
  });
});

describe('isInstance', () => {
  it('tells classes apart through the hierarchy', () => {
    const timedOut = new TimedOutError('slow', { phase: 'transfer', limit: 'idle', limitMs: 10, elapsedMs: 12 });
    expect(TimedOutError.isInstance(timedOut)).toBe(true);
    expect(TransientError.isInstance(timedOut)).toBe(true);
    expect(HonkError.isInstance(timedOut)).toBe(true);
    expect(NoSpaceError.isInstance(timedOut)).toBe(false);
    expect(TimedOutError.isInstance(new TransientError('x'))).toBe(false);
    expect(ConfigError.isInstance(new AuthError('x'))).toBe(false);
    expect(timedOut).toMatchObject({ code: 'TIMED_OUT', retryable: true, phase: 'transfer', limit: 'idle' });
    // A look-alike without the brand is not a HonkError.
    const impostor = Object.assign(new Error('x'), { name: 'ConfigError', code: 'CONFIG_INVALID' });
    expect(ConfigError.isInstance(impostor)).toBe(false);
    expect(HonkError.isInstance(impostor)).toBe(false);
  });

  it('recognises errors of another copy of @honk/core, where instanceof does not', async () => {
    // The same module under another URL is a second module instance: a second copy of @honk/core.
    const url = new URL('../../src/errors/honk-error.ts?second-copy', import.meta.url).href;
    const copy = (await import(url)) as typeof import('../../src/errors/honk-error.ts');
    expect(copy.NoSpaceError).not.toBe(NoSpaceError);
    const foreign = new copy.NoSpaceError('full', { path: '/data', freeBytes: 0 });
    expect(foreign instanceof NoSpaceError).toBe(false);
    expect(NoSpaceError.isInstance(foreign)).toBe(true);
    expect(isHonkError(foreign)).toBe(true);
    expect(TransientError.isInstance(foreign)).toBe(false);
    expect(NoSpaceError.isInstance(foreign) && foreign.path).toBe('/data');
    expect(
      copy.TransientError.isInstance(
        new TimedOutError('x', { phase: 'publish', limit: 'total', limitMs: 1, elapsedMs: 2 }),
      ),
    ).toBe(true);
  });
});
