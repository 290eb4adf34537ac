/**
 * The conformance suite of chunked staging (`Sink.openChunked`, see
 * connector/chunked-staging.ts): what every sink declaring `chunkedStaging` keeps, whatever
 * its storage. Run it with an `endpoint()` a chunked task can write (a directory, a prefix,
 * a table):
 *
 * - chunks committed by separate writers are staged once each and read back as a whole;
 * - two attempts of one chunk: the first commit wins, the other gets the winner's result,
 *   and the staging holds the chunk once;
 * - an attempt that never committed (a crash) is invisible, and a re-opened chunk replaces it;
 * - `finish()` names chunks that are not committed (`CHUNKS_MISSING`); the publish makes
 *   exactly the chunks the target; `abort()` leaves no chunk committed.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type ChunkedStaging, chunkName } from '../connector/chunked-staging.ts';
import type { Sink } from '../connector/connector.ts';
import { guardSink } from '../connector/guard.ts';
import { type ConformanceOptions, fingerprint, harness } from './conformance.ts';
import { makeTrickyBatch, trickySchema } from './tricky-data.ts';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** Runs the chunked-staging cases for a connector whose sink declares `chunkedStaging`. */
export function testChunkedSink<O, E>(suite: ConformanceOptions<O, E>): void {
  const name = suite.name ?? suite.connector.name;
  const timeout = suite.timeoutMs ?? 180_000;
  const kinds = { lists: suite.features?.lists ?? true, binary: suite.features?.binary ?? true };
  const schema: Schema = trickySchema(kinds);
  const batch = (chunk: number, rows: number): RecordBatch => makeTrickyBatch(chunk * 10_000, rows, kinds);
  const signal = new AbortController().signal;

  async function open(caseName: string, plan = 'p1') {
    const options = await suite.options();
    const endpoint = await suite.endpoint(caseName);
    const context = { taskId: `chunked-${caseName}`, connectionName: 'under-test', signal, logger: quiet };
    const sink: Sink = guardSink(
      suite.connector.name,
      await suite.connector.createSink!({ options, endpoint, context }),
    );
    const staging = await (sink.openChunked as NonNullable<Sink['openChunked']>)(schema, {
      signal,
      mode: 'replace',
      plan,
    });
    return { sink, staging, endpoint };
  }

  async function commit(staging: ChunkedStaging, chunk: number, rows: number, result: string) {
    const writer = await staging.openChunk(chunkName(chunk));
    await writer.write(batch(chunk, rows));
    return writer.commit({ by: result });
  }

  describe(`${name} chunked staging conformance`, () => {
    it('capability: the sink declares chunkedStaging and has openChunked', () => {
      expect(suite.connector.capabilities?.chunkedStaging).toBe(true);
    });

    it(
      'stages committed chunks once each, lets the first of two attempts of a chunk win, and publishes exactly the chunks',
      async () => {
        const { sink, staging, endpoint } = await open('chunks-race');
        try {
          const a = await staging.openChunk(chunkName(0));
          const b = await staging.openChunk(chunkName(0));
          await a.write(batch(0, 40));
          await b.write(batch(0, 40));
          const first = await a.commit({ by: 'a' });
          const second = await b.commit({ by: 'b' });
          expect(first).toMatchObject({ result: { by: 'a' }, rows: 40 });
          expect(second).toEqual(first);
          expect(await staging.committed(chunkName(0))).toEqual(first);
          expect(await commit(staging, 1, 25, 'c')).toMatchObject({ result: { by: 'c' }, rows: 25 });
          expect(await staging.committed(chunkName(2))).toBeNull();
          await expect(staging.finish([chunkName(0), chunkName(1), chunkName(2)])).rejects.toMatchObject({
            code: 'CHUNKS_MISSING',
            chunks: [chunkName(2)],
          });
          const writer = await staging.finish([chunkName(0), chunkName(1)]);
          const staged = await writer.stage();
          expect(staged.rows).toBe(65);
          const expected = await fingerprint(schema, [batch(0, 40), batch(1, 25)]);
          const reader = staged.reader?.();
          if (reader) {
            const batches: RecordBatch[] = [];
            for await (const read of reader.read({ signal, batchRows: 1000 })) batches.push(read);
            await reader.close?.();
            expect(await fingerprint(schema, batches)).toEqual(expected);
          }
          await writer.publish();
          const h = await harness(suite);
          expect(await h.readBack(endpoint, 'chunks-race')).toEqual({ rows: 65, fingerprint: expected });
        } finally {
          await staging.close?.();
          await sink.close?.();
        }
      },
      timeout,
    );

    it(
      'never shows an attempt that did not commit, and a re-opened chunk is written once',
      async () => {
        const { sink, staging, endpoint } = await open('chunks-crash');
        try {
          const crashed = await staging.openChunk(chunkName(0));
          await crashed.write(batch(0, 30));
          // No commit, no abort: the agent died. The chunk is not committed…
          expect(await staging.committed(chunkName(0))).toBeNull();
          // …and the next attempt replaces whatever it left.
          expect(await commit(staging, 0, 30, 'retry')).toMatchObject({ rows: 30 });
          const aborted = await staging.openChunk(chunkName(1));
          await aborted.write(batch(1, 10));
          await aborted.abort(new Error('stopped'));
          await aborted.abort();
          expect(await staging.committed(chunkName(1))).toBeNull();
          expect(await commit(staging, 1, 10, 'again')).toMatchObject({ rows: 10 });
          const writer = await staging.finish([chunkName(0), chunkName(1)]);
          expect((await writer.stage()).rows).toBe(40);
          await writer.publish();
          const h = await harness(suite);
          expect(await h.readBack(endpoint, 'chunks-crash')).toEqual({
            rows: 40,
            fingerprint: await fingerprint(schema, [batch(0, 30), batch(1, 10)]),
          });
        } finally {
          await staging.close?.();
          await sink.close?.();
        }
      },
      timeout,
    );

    it(
      'abort() removes every chunk of every plan; another plan never sees this one',
      async () => {
        const { sink, staging } = await open('chunks-abort');
        const other = await open('chunks-abort', 'p2');
        try {
          await commit(staging, 0, 5, 'p1');
          expect(await other.staging.committed(chunkName(0))).toBeNull();
          await staging.abort();
          expect(await staging.committed(chunkName(0))).toBeNull();
        } finally {
          await other.staging.close?.();
          await other.sink.close?.();
          await staging.close?.();
          await sink.close?.();
        }
      },
      timeout,
    );
  });
}
