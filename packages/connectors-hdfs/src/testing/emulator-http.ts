/**
 * The emulator's HTTP plumbing shared by its name nodes and data node: injected faults,
 * the record of answered requests, JSON and RemoteException answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EmulatedRemoteException } from './emulator-namespace.ts';

/** A failure the emulator produces on purpose for the next matching requests. */
export interface EmulatorFault {
  /** The operation (case-insensitive); any when absent. */
  op?: string;
  /** Which server misbehaves. Default `namenode`. */
  node?: 'namenode' | 'datanode';
  /** Matching requests to let through before the fault starts. Default 0. */
  skip?: number;
  /** Matching requests it hits. Default 1. */
  times?: number;
  /** Answer with this RemoteException (its status follows WebHDFS unless `status` is given). */
  exception?: string;
  message?: string;
  /** HTTP status: with `exception`, overrides its status; alone, a bare error page. */
  status?: number;
  /** Data node OPEN: send this many bytes of the answer, then cut the connection. */
  cutAfterBytes?: number;
  /** Destroy the connection without an answer (a reset). */
  reset?: boolean;
  /** Never answer and never apply the request (a hung server; released by `stop()`). */
  hang?: boolean;
}

/** One request the emulator answered, for tests that follow a protocol step by step. */
export interface EmulatorRequest {
  node: 'namenode' | 'datanode';
  /** Index of the name node that answered (name-node requests). */
  namenode?: number;
  method: string;
  op: string;
  path: string;
  user: string;
  status: number;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

/** Records a request when its response closes (a request whose connection was cut too). */
export type RequestRecorder = (request: Omit<EmulatorRequest, 'status'>, response: ServerResponse) => void;

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  response.end(text);
}

/** Answers an error thrown while handling a request, as WebHDFS does. */
export function sendError(request: IncomingMessage, response: ServerResponse, error: unknown): void {
  request.resume();
  const remote =
    error instanceof EmulatedRemoteException
      ? error
      : new EmulatedRemoteException('IOException', String((error as Error).message), 500);
  if (!response.headersSent) sendJson(response, remote.status, remote.toJSON());
  else response.destroy();
}

/** The faults of one emulator, matched against requests in order. */
export class FaultBook {
  readonly faults: EmulatorFault[] = [];
  /** Requests held by `hang` faults, destroyed on stop. */
  readonly hung = new Set<ServerResponse>();

  /** The fault for this request, if one is due (counts it down). */
  take(node: 'namenode' | 'datanode', op: string): EmulatorFault | undefined {
    const faults = this.faults;
    for (const [index, fault] of faults.entries()) {
      if ((fault.node ?? 'namenode') !== node) continue;
      if (fault.op !== undefined && fault.op.toUpperCase() !== op) continue;
      if ((fault.skip ?? 0) > 0) {
        fault.skip = (fault.skip ?? 0) - 1;
        continue;
      }
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) faults.splice(index, 1);
      return fault;
    }
    return undefined;
  }

  /** Answers a fault; true when the request must not be processed further. */
  answer(fault: EmulatorFault | undefined, request: IncomingMessage, response: ServerResponse): boolean {
    if (!fault || fault.cutAfterBytes !== undefined) return false;
    if (fault.hang) {
      this.hung.add(response);
      return true;
    }
    if (fault.reset) {
      request.socket.destroy();
      return true;
    }
    if (fault.exception) {
      const error = new EmulatedRemoteException(
        fault.exception,
        fault.message ?? `${fault.exception} (injected by the emulator)`,
        fault.status,
      );
      sendJson(response, error.status, error.toJSON());
      return true;
    }
    response.writeHead(fault.status ?? 500, { 'Content-Type': 'text/html' });
    response.end(
      `<html><body>HTTP ERROR ${fault.status ?? 500}: ${fault.message ?? 'injected by the emulator'}</body></html>`,
    );
    return true;
  }
}
