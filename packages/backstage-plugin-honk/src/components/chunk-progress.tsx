/**
 * A chunked task's chunks (see @honk/core docs/chunks.md): "chunks 7/10 succeeded (2 running,
 * 1 pending; 3,500 rows)" over a thin bar of the succeeded share, which is an ARIA
 * progressbar so the numbers are never in the colour alone.
 */
import { Flex, Text } from '@backstage/ui';
import { type ChunkCounts, formatChunks } from '../format.ts';

export function ChunkProgress({ chunks }: { chunks: ChunkCounts }) {
  const share = chunks.total > 0 ? Math.min(1, chunks.succeeded / chunks.total) : 0;
  return (
    <Flex direction="column" gap="1">
      <Text variant="body-small" data-testid="honk-chunks">
        {formatChunks(chunks)}
      </Text>
      <div
        role="progressbar"
        aria-label="Chunks succeeded"
        aria-valuemin={0}
        aria-valuemax={chunks.total}
        aria-valuenow={chunks.succeeded}
        aria-valuetext={`${chunks.succeeded} of ${chunks.total} chunks succeeded`}
        style={{
          width: 160,
          height: 6,
          borderRadius: 3,
          background: 'var(--bui-bg-tint, #e0e0e0)',
          overflow: 'hidden',
        }}
      >
        <div style={{ width: `${share * 100}%`, height: '100%', background: 'var(--bui-fg-success, #1e7b34)' }} />
      </div>
    </Flex>
  );
}
