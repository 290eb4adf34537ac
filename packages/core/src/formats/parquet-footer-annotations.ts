/**
 * Logical type annotations arrow-rs cannot write, added to a Parquet file's footer as it is
 * written: GEOMETRY / GEOGRAPHY (Parquet 2.11) for columns carrying GeoArrow metadata. The
 * footer is the last thing in the file and no offset points into it, so it can be re-encoded
 * with the annotation; only the end of the output is held back until the encoder finishes.
 */
import { HonkError } from '../errors/honk-error.ts';
import { decodeFooter, encodeFooterTail } from './parquet-metadata.ts';
import { CompactReader, type ThriftStruct, ThriftType } from './thrift-compact.ts';

/** Output held back at most; a footer larger than this is written as it came, unannotated. */
const HOLD_BYTES = 8 * 1024 * 1024;

/** Holds back the end of a Parquet output and annotates its footer; see the module comment. */
export class FooterAnnotator {
  readonly #annotations: ReadonlyMap<string, ThriftStruct>;
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** False once the footer turned out larger than {@link HOLD_BYTES}. */
  annotated = true;

  /** `annotations`: top-level column name → LogicalType union to set on it. */
  constructor(annotations: ReadonlyMap<string, ThriftStruct>) {
    this.#annotations = annotations;
  }

  /** Takes the next output chunk; returns the chunks that can be written now. */
  push(chunk: Uint8Array): Uint8Array[] {
    this.#held.push(chunk);
    this.#heldBytes += chunk.byteLength;
    const ready: Uint8Array[] = [];
    while (this.#held.length > 1 && this.#heldBytes - (this.#held[0] as Uint8Array).byteLength >= HOLD_BYTES) {
      const first = this.#held.shift() as Uint8Array;
      this.#heldBytes -= first.byteLength;
      ready.push(first);
    }
    return ready;
  }

  /** The held end of the file, its footer annotated. */
  finish(): Uint8Array[] {
    const held = new Uint8Array(this.#heldBytes);
    let at = 0;
    for (const chunk of this.#held) {
      held.set(chunk, at);
      at += chunk.byteLength;
    }
    this.#held = [];
    const view = new DataView(held.buffer);
    const footerLength = held.length >= 8 ? view.getUint32(held.length - 8, true) : Number.POSITIVE_INFINITY;
    const footerStart = held.length - 8 - footerLength;
    if (footerStart < 0) {
      this.annotated = false;
      return [held];
    }
    let raw: ThriftStruct;
    try {
      raw = new CompactReader(held.subarray(footerStart, held.length - 8)).readStruct();
    } catch (error) {
      throw new HonkError(
        'INTERNAL',
        `The Parquet encoder wrote a footer Honk cannot decode: ${(error as Error).message}.`,
        {
          cause: error,
          retryable: false,
        },
      );
    }
    const footer = decodeFooter(raw, 'output');
    for (const leaf of footer.leaves) {
      const logicalType = this.#annotations.get(leaf.path);
      if (logicalType) leaf.element.raw.set(10, ThriftType.STRUCT, logicalType);
    }
    return [held.subarray(0, footerStart), encodeFooterTail(raw)];
  }
}
