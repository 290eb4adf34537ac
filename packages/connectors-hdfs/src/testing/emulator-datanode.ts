/**
 * The emulator's data node: CREATE and APPEND bodies streamed to disk (an upload becomes
 * visible when it is complete), OPEN with `offset`/`length`, GETFILECHECKSUM. Requests
 * arrive by the name node's 307 redirects, carrying `user.name`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { type FaultBook, type RequestRecorder, sendError, sendJson } from './emulator-http.ts';
import { EmulatedRemoteException, type EmulatorNamespace, normaliseHdfsPath } from './emulator-namespace.ts';

/** The request handler of the data node. */
export function createDatanodeHandler(namespace: EmulatorNamespace, faults: FaultBook, record: RequestRecorder) {
  return async function datanode(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const op = (url.searchParams.get('op') ?? '').toUpperCase();
    const path = normaliseHdfsPath(url.pathname.replace(/^\/webhdfs\/v1/, '') || '/');
    const user = url.searchParams.get('user.name') ?? 'dr.who';
    const method = request.method ?? 'GET';
    record({ node: 'datanode', method, op, path, user, query: url.searchParams, headers: request.headers }, response);
    const fault = faults.take('datanode', op);
    try {
      if (faults.answer(fault, request, response)) return;
      const query = url.searchParams;
      const overwrite = (query.get('overwrite') ?? 'false').toLowerCase() === 'true';
      if (op === 'CREATE' || op === 'APPEND') {
        const upload = namespace.uploadFile();
        if (op === 'APPEND') {
          await namespace.checkAppend(path, user);
          await fs.copyFile(namespace.local(path).file, upload);
        }
        await pipeline(request, createWriteStream(upload, { flags: op === 'APPEND' ? 'a' : 'w' }));
        try {
          await namespace.commitUpload(
            upload,
            path,
            user,
            op === 'APPEND' || overwrite,
            query.get('permission') ?? '644',
          );
        } catch (error) {
          await fs.rm(upload, { force: true });
          throw error;
        }
        if (op === 'CREATE') {
          response.writeHead(201, { Location: `hdfs://127.0.0.1${path}`, 'Content-Length': 0 });
        } else response.writeHead(200, { 'Content-Length': 0 });
        response.end();
        return;
      }
      if (op === 'GETFILECHECKSUM') {
        const { file } = await namespace.openFile(path, user);
        const hash = createHash('sha256')
          .update(await fs.readFile(file))
          .digest('hex');
        sendJson(response, 200, { FileChecksum: { algorithm: 'SHA-256 (WebHDFS emulator)', bytes: hash, length: 32 } });
        return;
      }
      if (op !== 'OPEN')
        throw new EmulatedRemoteException('IllegalArgumentException', `Invalid data node operation ${op}`);
      const { file, size } = await namespace.openFile(path, user);
      const offset = Number(query.get('offset') ?? '0');
      if (
        !Number.isInteger(offset) ||
        offset < 0 ||
        (offset > 0 && offset >= size && size > 0) ||
        (size === 0 && offset > 0)
      ) {
        throw new EmulatedRemoteException(
          'IOException',
          `Offset=${offset} out of the range [0, ${size}); OPEN, path=${path}`,
        );
      }
      const wanted = query.has('length') ? Number(query.get('length')) : size - offset;
      const length = Math.max(0, Math.min(wanted, size - offset));
      response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': length });
      if (length === 0) {
        response.end();
        return;
      }
      const cut = fault?.cutAfterBytes;
      const stream = createReadStream(file, {
        start: offset,
        end: offset + (cut !== undefined ? Math.min(cut, length) : length) - 1,
      });
      if (cut !== undefined) {
        stream.pipe(response, { end: false });
        stream.once('end', () => response.socket?.destroy());
        return;
      }
      await pipeline(stream, response);
    } catch (error) {
      sendError(request, response, error);
    }
  };
}
