/** A migration status as a small badge with a colour cue (and the words, never colour alone). */
import { Badge } from '@backstage/ui';
import type { MigrationStatus } from '@honk/backstage-plugin-honk-common';
import { STATUS_LABELS } from '../format.ts';

const COLOURS: Record<MigrationStatus, string> = {
  'not-started': 'var(--bui-fg-secondary, #666)',
  pending: 'var(--bui-fg-info, #1f5493)',
  running: 'var(--bui-fg-info, #1f5493)',
  failed: 'var(--bui-fg-warning, #8a5300)',
  dead: 'var(--bui-fg-danger, #b3261e)',
  cancelled: 'var(--bui-fg-secondary, #666)',
  succeeded: 'var(--bui-fg-success, #1e7b34)',
  'rolled-back': 'var(--bui-fg-warning, #8a5300)',
  migrated: 'var(--bui-fg-success, #1e7b34)',
};

export function StatusBadge({ status }: { status: MigrationStatus }) {
  return (
    <Badge size="small" data-status={status} style={{ color: COLOURS[status] }}>
      {STATUS_LABELS[status]}
    </Badge>
  );
}
