/**
 * Planning a chunked task: the source's partitions become the chunks, pinned together with
 * the source's state (`Source.pin`) and the schema the sink receives. The plan is what the
 * task store keeps (`TaskRecord.chunked`), so a chunk run hours later on another agent reads
 * exactly its partition, and the finish can prove nothing changed in between.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Json } from '../../connector/connector.ts';
import { HonkError, TransientError } from '../../errors/honk-error.ts';
import { type Prepared, schemaLines } from '../prepare-task.ts';
import { DEFAULT_MAX_CHUNKS, type TaskDefinition } from '../task-definition.ts';

/** What the store keeps with a plan (`TaskRecord.chunked.plan`). */
export interface ChunkPlan {
  [key: string]: Json;
  /** The schema the sink receives (after transforms), as `name: type` lines. */
  schema: string[];
  /** The source's state when the plan was made (`Source.pin`), null when it pins nothing. */
  pin: Json;
}

/** What one chunk record carries (`TaskRecord.chunkOf.ref`). */
export interface ChunkRef {
  [key: string]: Json;
  /** The source partition's ref. */
  partition: Json;
  /** Hash of the plan's schema lines: a chunk that finds another schema knows the source changed. */
  schema: string;
}

/** A fresh plan, ready for `TaskStore.split`. */
export interface PlannedChunks {
  planId: string;
  plan: ChunkPlan;
  chunks: ChunkRef[];
}

/** A short hash of schema lines. */
export function schemaHash(lines: readonly string[]): string {
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

/** Splits the prepared task's source into at most `task.chunks.max` chunks and pins it. */
export async function planChunks(prepared: Prepared, task: TaskDefinition): Promise<PlannedChunks> {
  const { source } = prepared;
  if (!source.partitions || !source.partition) {
    throw new HonkError('CAPABILITY_MISSING', `Task "${task.id}": its source cannot be read in chunks.`);
  }
  const max = task.chunks?.max ?? DEFAULT_MAX_CHUNKS;
  // Pinned first: whatever changes from here on is caught by checkUnchanged before publishing.
  const pin = source.pin ? await source.pin() : null;
  const partitions = await source.partitions({ max });
  if (partitions.length === 0 || partitions.length > max) {
    throw new HonkError(
      'CONNECTOR_MISUSE',
      `Task "${task.id}": the source returned ${partitions.length} partitions for at most ${max}; a source must split into 1 to max partitions.`,
    );
  }
  const schema = schemaLines(prepared.schema);
  const hash = schemaHash(schema);
  return {
    planId: randomBytes(6).toString('hex'),
    plan: { schema, pin },
    chunks: partitions.map((partition) => ({ partition: partition.ref, schema: hash })),
  };
}

/** The plan kept on a record, or undefined when it is not one (written by another version). */
export function parsePlan(value: Json | undefined): ChunkPlan | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { schema } = value;
  if (!Array.isArray(schema) || !schema.every((line) => typeof line === 'string') || !('pin' in value)) {
    return undefined;
  }
  return value as ChunkPlan;
}

/** The ref a chunk record carries, checked. */
export function parseChunkRef(value: Json): ChunkRef {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && typeof value.schema === 'string') {
    return value as ChunkRef;
  }
  throw new HonkError('INTERNAL', `Not a chunk ref: ${JSON.stringify(value)?.slice(0, 200)}.`);
}

/**
 * Throws SOURCE_CHANGED when the prepared task's schema is not the plan's: the source (or
 * what the transforms make of it) changed since the chunks were planned.
 */
export function checkPlanSchema(prepared: Prepared, task: TaskDefinition, expected: string): void {
  const lines = schemaLines(prepared.schema);
  if (schemaHash(lines) === expected) return;
  throw new TransientError(
    `Task "${task.id}": the source's schema changed since its chunks were planned (now: ${lines.join(', ')}). The chunks are planned again.`,
    { code: 'SOURCE_CHANGED' },
  );
}
