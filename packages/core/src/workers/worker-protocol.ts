/** Messages between the main thread and a pool worker (structured clone; buffers transferred). */
import type { Transferable } from 'node:worker_threads';
import type { HonkErrorCode } from '../errors/honk-error.ts';
import type { WorkerHandlerName } from './worker-handlers.ts';

export type WorkerRequest =
  | { type: 'open'; session: number; handler: WorkerHandlerName; init: unknown }
  | { type: 'call'; session: number; method: string; args: unknown }
  | { type: 'close'; session: number }
  /** Loads handler modules ahead of use (session 0: no session). */
  | { type: 'load'; session: 0; handlers: WorkerHandlerName[] }
  /** A full garbage collection, when the process allows it (`--expose-gc`); for memory measurements. */
  | { type: 'collect'; session: 0 };

/** An error as it crosses back: HonkErrors keep their code, retryability and details. */
export interface WorkerErrorShape {
  name: string;
  message: string;
  stack?: string;
  code?: HonkErrorCode;
  retryable?: boolean;
  details?: Record<string, unknown>;
}

/** `retiring`: the worker takes no new sessions and ends when its open ones close (see worker-lifecycle.ts). */
export type WorkerReply = (
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: WorkerErrorShape }
) & {
  retiring?: boolean;
};

/**
 * What a handler's session returns from a call: a plain value, or a value with buffers to
 * hand over instead of copying.
 */
export interface Transferring<T> {
  value: T;
  transfer: Transferable[];
}

/** Marks a reply whose buffers move to the main thread instead of being copied. */
export function transferring<T>(value: T, transfer: Transferable[]): Transferring<T> {
  return { value, transfer, [TRANSFERRING]: true } as Transferring<T>;
}

export const TRANSFERRING = Symbol('transferring');

/** A session object inside a worker: methods called by name with one argument. */
export type WorkerSessionObject = Record<string, ((args: never) => unknown) | unknown> & {
  close?(): unknown;
};

/** A handler module's export: creates session objects. */
export interface WorkerHandler {
  open(init: never): WorkerSessionObject | Promise<WorkerSessionObject>;
}
