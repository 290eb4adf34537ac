/**
 * `COPY … TO STDOUT` as a Readable of payload bytes, for node-postgres (`client.query(new
 * CopyOutStream(sql))`).
 *
 * While the COPY runs, this stream takes the socket from node-postgres' protocol parser (which
 * would build an object per row) and walks the protocol messages itself: the payloads of
 * consecutive CopyData messages (one per row) are copied into one buffer per socket chunk, so
 * a 64 KiB chunk of a thousand rows costs one allocation, not a thousand. After CopyDone, or
 * at an ErrorResponse, the rest of the bytes go back to node-postgres, which finishes the
 * query (CommandComplete, ReadyForQuery) or reports the error through `handleError`.
 *
 * Protocol: https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-COPY
 */
import { Readable } from 'node:stream';

const COPY_DATA = 0x64; // 'd'
const ERROR_RESPONSE = 0x45; // 'E'
/** Messages that may arrive between CopyData messages and are skipped. */
const INTERLEAVED = new Set([0x48 /* CopyOutResponse */, 0x53 /* ParameterStatus */, 0x4e /* Notice */, 0x41]);

/** The parts of node-postgres' connection this stream uses. */
interface PgConnection {
  /** The socket; it yields Buffers (node-postgres never sets an encoding on it). */
  stream: Pick<NodeJS.ReadableStream, 'pause' | 'resume' | 'on' | 'removeListener'> & {
    read(): Buffer | null;
    listeners(event: 'data'): Array<(chunk: Buffer) => void>;
  };
  query(text: string): void;
}

export class CopyOutStream extends Readable {
  /** Rows the server reported (CommandComplete). */
  rowCount = 0;
  private connection: PgConnection | undefined;
  private parserHandler: ((chunk: Buffer) => void) | undefined;
  private readonly onReadable = () => this.pump();
  private wanted = false;
  private pumping = false;
  private detached = false;
  /** A message header (code + int32 length) split across socket chunks. */
  private readonly header = Buffer.alloc(5);
  private headerLength = 0;
  private code = 0;
  /** Payload bytes of the current message still to come. */
  private remaining = 0;

  private readonly text: string;
  constructor(text: string) {
    super();
    this.text = text;
  }

  /** Called by node-postgres when the query is sent. */
  submit(pgConnection: object): void {
    const connection = pgConnection as PgConnection;
    this.connection = connection;
    const socket = connection.stream;
    const handlers = socket.listeners('data');
    if (handlers.length !== 1) throw new Error('CopyOutStream expects node-postgres to own the socket.');
    this.parserHandler = handlers[0]!;
    socket.removeListener('data', this.parserHandler);
    socket.pause();
    socket.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  private pump(): void {
    if (this.pumping || this.detached || !this.connection) return;
    this.pumping = true;
    try {
      while (this.wanted && !this.detached) {
        const chunk: Buffer | null = this.connection.stream.read();
        if (chunk === null) break;
        this.parse(chunk);
      }
    } finally {
      this.pumping = false;
    }
  }

  private parse(chunk: Buffer): void {
    const out = Buffer.allocUnsafe(chunk.length);
    /** Header bytes of a message begun in an earlier chunk (its continuation starts this chunk). */
    const carried = this.headerLength;
    let written = 0;
    let pos = 0;
    const length = chunk.length;
    while (pos < length) {
      // Whole CopyData messages first, in locals: the common case, one message per row.
      if (this.remaining === 0 && this.headerLength === 0) {
        while (pos + 5 <= length && chunk[pos] === COPY_DATA) {
          const end =
            pos + 1 + ((chunk[pos + 1]! << 24) | (chunk[pos + 2]! << 16) | (chunk[pos + 3]! << 8) | chunk[pos + 4]!);
          if (end > length) break;
          written += chunk.copy(out, written, pos + 5, end);
          pos = end;
        }
        if (pos >= length) break;
      }
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, length - pos);
        if (this.code === COPY_DATA) {
          written += chunk.copy(out, written, pos, pos + take);
        }
        pos += take;
        this.remaining -= take;
        if (this.remaining === 0 && this.ended(chunk, pos, out, written)) return;
        continue;
      }
      if (this.headerLength === 0 && length - pos >= 5) {
        this.code = chunk[pos]!;
        this.remaining = chunk.readUInt32BE(pos + 1) - 4;
        pos += 5;
      } else {
        this.header[this.headerLength++] = chunk[pos++]!;
        if (this.headerLength < 5) continue;
        this.code = this.header[0]!;
        this.remaining = this.header.readUInt32BE(1) - 4;
      }
      // A header completed from split bytes began in an earlier chunk (fewer than 5 bytes were left there).
      const split = this.headerLength > 0;
      this.headerLength = 0;
      if (this.code === ERROR_RESPONSE) {
        // node-postgres parses the error and calls handleError; hand it the whole message.
        const rest = split ? Buffer.concat([this.header.subarray(0, carried), chunk]) : chunk.subarray(pos - 5);
        this.flush(out, written);
        this.detach(rest);
        return;
      }
      if (this.remaining === 0 && this.ended(chunk, pos, out, written)) return;
    }
    this.flush(out, written);
  }

  /** A message ended at `pos`: true when it ended the COPY (the stream is then detached). */
  private ended(chunk: Buffer, pos: number, out: Buffer, written: number): boolean {
    if (this.code === COPY_DATA || INTERLEAVED.has(this.code)) return false;
    // CopyDone, or a message that has no place in COPY: the rest is node-postgres' again.
    this.flush(out, written);
    this.detach(chunk.subarray(pos));
    this.push(null);
    return true;
  }

  private flush(out: Buffer, written: number): void {
    if (written > 0) this.wanted = this.push(out.subarray(0, written));
  }

  private detach(rest: Buffer): void {
    const connection = this.connection!;
    const socket = connection.stream;
    this.detached = true;
    socket.removeListener('readable', this.onReadable);
    socket.on('data', this.parserHandler!);
    if (rest.length > 0) this.parserHandler!(rest);
    // The parser may pause the socket while handling `rest`; resume after it is done.
    process.nextTick(() => socket.resume());
  }

  /** node-postgres hooks for the messages it parses after `detach`. */
  handleError(error: Error): void {
    this.destroy(error);
  }

  handleCommandComplete(message: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(message?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {}
}
