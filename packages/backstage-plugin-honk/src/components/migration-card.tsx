/**
 * The entity card of a dataset (kind Resource, spec.type `dataset`): the latest migration's
 * status, progress (rows, rate, ETA against the entity's row estimate), schedule, attempts
 * and last error, the last validation report, the snapshot ref and the sign-off, polled every
 * few seconds; and the actions the state allows and the user's permissions grant.
 */
import { stringifyEntityRef } from '@backstage/catalog-model';
import { useApi } from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import { Alert, Button, Card, CardBody, CardFooter, CardHeader, Flex, Text } from '@backstage/ui';
import { HONK_ANNOTATIONS, HonkApiError, type MigrationDetail } from '@honk/backstage-plugin-honk-common';
import { type ReactNode, useState } from 'react';
import { honkApiRef } from '../api.ts';
import {
  etaSeconds,
  formatCount,
  formatDuration,
  formatInstant,
  formatRate,
  formatValue,
  readChecks,
  readChunks,
  readProgress,
} from '../format.ts';
import { usePoll } from '../hooks/use-poll.ts';
import { ACTION_PERMISSIONS, allowedActions, type MigrationActionName } from '../migration-actions.ts';
import { ChunkProgress } from './chunk-progress.tsx';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { StatusBadge } from './status-badge.tsx';
import { ValidationReport } from './validation-report.tsx';

/** How often the card reloads the status, by default. */
export const DEFAULT_POLL_INTERVAL_MS = 3000;

const LABELS: Record<MigrationActionName, string> = {
  start: 'Start',
  requeue: 'Requeue',
  cancel: 'Cancel',
  rollback: 'Roll back',
  'sign-off': 'Sign off',
};

/** Statuses a migration rests in until someone acts (as opposed to pending, running, failed-and-retrying). */
const ENDED_STATUSES: ReadonlySet<string> = new Set(['succeeded', 'dead', 'cancelled', 'rolled-back', 'migrated']);

const DONE: Record<MigrationActionName, string> = {
  start: 'Migration started.',
  requeue: 'Migration requeued.',
  cancel: 'Migration cancelled.',
  rollback: 'Target restored from its snapshot.',
  'sign-off': 'Migration signed off.',
};

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Flex gap="2" align="baseline">
      <Text variant="body-small" color="secondary" style={{ minWidth: 120 }}>
        {label}
      </Text>
      <Text variant="body-small" as="div">
        {children}
      </Text>
    </Flex>
  );
}

function confirmText(action: MigrationActionName, entityRef: string): string {
  switch (action) {
    case 'rollback':
      return `Restore the target of ${entityRef} from the snapshot taken before this migration published? The migrated data in the target is replaced.`;
    case 'sign-off':
      return `Sign off the migration of ${entityRef}? This records you and the time as approving it, and tells owners its source can be retired.`;
    case 'cancel':
      return `Cancel the migration of ${entityRef}? A running attempt stops; nothing is published.`;
    default:
      return '';
  }
}

export interface MigrationCardProps {
  /** Poll interval in ms (default 3000). */
  pollIntervalMs?: number;
}

/** The card as it appears on the entity page (reads the entity from the page). */
export function HonkMigrationCard(props: MigrationCardProps) {
  const { entity } = useEntity();
  const estimate = Number(entity.metadata.annotations?.[HONK_ANNOTATIONS.estimatedRows]);
  return (
    <MigrationCardContent
      entityRef={stringifyEntityRef(entity)}
      estimatedRows={Number.isFinite(estimate) && estimate > 0 ? estimate : undefined}
      pollIntervalMs={props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS}
    />
  );
}

export function MigrationCardContent(props: { entityRef: string; estimatedRows?: number; pollIntervalMs: number }) {
  const { entityRef } = props;
  const honk = useApi(honkApiRef);
  const permissions = {
    start: usePermission({ permission: ACTION_PERMISSIONS.start }),
    requeue: usePermission({ permission: ACTION_PERMISSIONS.requeue }),
    cancel: usePermission({ permission: ACTION_PERMISSIONS.cancel }),
    rollback: usePermission({ permission: ACTION_PERMISSIONS.rollback }),
    'sign-off': usePermission({ permission: ACTION_PERMISSIONS['sign-off'] }),
  };
  const poll = usePoll<MigrationDetail | null>(
    async () => {
      try {
        return await honk.getEntityMigration(entityRef);
      } catch (error) {
        // No migration yet: the dataset is not started.
        if (error instanceof HonkApiError && error.status === 404) return null;
        throw error;
      }
    },
    props.pollIntervalMs,
    entityRef,
  );
  const [confirming, setConfirming] = useState<MigrationActionName | undefined>();
  const [running, setRunning] = useState<MigrationActionName | undefined>();
  /** The last action's notice, and the status the migration had when the action ran. */
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string; from: string } | undefined>();

  const migration = poll.value ?? undefined;
  const status = migration?.status ?? 'not-started';
  // A success notice ("Migration started.") is news until the migration has moved on to an
  // ended status: then the status says more, and a stale notice would contradict it.
  const notice = outcome?.ok && status !== outcome.from && ENDED_STATUSES.has(status) ? undefined : outcome;

  const run = async (action: MigrationActionName) => {
    setRunning(action);
    setOutcome(undefined);
    try {
      if (action === 'start') {
        // A rolled-back migration succeeded before: only a re-run starts it again.
        await honk.startMigration({ entityRef, ...(status === 'rolled-back' ? { rerun: true } : {}) });
      } else if (!migration) {
        throw new Error('The migration is gone; reload the page.');
      } else if (action === 'requeue') await honk.requeue(migration.taskId);
      else if (action === 'cancel') await honk.cancel(migration.taskId);
      else if (action === 'rollback') await honk.rollback(migration.taskId);
      else await honk.signOff(migration.taskId);
      setOutcome({ ok: true, text: DONE[action], from: status });
    } catch (error) {
      setOutcome({ ok: false, text: `${LABELS[action]} failed: ${(error as Error).message}`, from: status });
    } finally {
      setRunning(undefined);
      setConfirming(undefined);
      poll.refresh();
    }
  };

  const actions = poll.loading ? [] : allowedActions(migration).filter((action) => permissions[action].allowed);
  const progress = readProgress(migration?.progress);
  const checks = readChecks(migration?.report);
  const chunks = readChunks(migration?.chunks);
  const eta = progress && status === 'running' ? etaSeconds(progress, props.estimatedRows) : undefined;
  const future = migration && Date.parse(migration.runAt) > Date.now() ? migration.runAt : undefined;

  return (
    <Card>
      <CardHeader>
        <Flex justify="between" align="center">
          <Text variant="title-x-small" as="h3">
            Honk migration
          </Text>
          {poll.loading ? null : <StatusBadge status={status} />}
        </Flex>
      </CardHeader>
      <CardBody>
        <Flex direction="column" gap="2">
          {poll.loading ? <Text variant="body-small">Loading the migration status…</Text> : null}
          {poll.error ? (
            <Alert status="danger" title="Could not load the migration status" description={poll.error.message} />
          ) : null}
          {!poll.loading && !migration && !poll.error ? (
            <Text variant="body-small">This dataset has not been migrated yet.</Text>
          ) : null}
          {migration ? (
            <>
              <Field label="Status">
                <span data-testid="honk-status">{status}</span>
                {migration.signedOff
                  ? ` since ${formatInstant(migration.signedOff.at)}`
                  : ` since ${formatInstant(migration.updatedAt)}`}
              </Field>
              {migration.signedOff ? (
                <Field label="Signed off">
                  by {migration.signedOff.by} on {formatInstant(migration.signedOff.at)}
                </Field>
              ) : null}
              {migration.rolledBack ? (
                <Field label="Rolled back">
                  by {migration.rolledBack.by} on {formatInstant(migration.rolledBack.at)}
                </Field>
              ) : null}
              {progress ? (
                <Field label="Progress">
                  {formatCount(progress.rows)} rows
                  {props.estimatedRows ? ` of about ${formatCount(props.estimatedRows)}` : ''}
                  {progress.rowsPerSecond ? `, ${formatRate(progress.rowsPerSecond)}` : ''}
                  {eta !== undefined ? `, about ${formatDuration(eta)} left` : ''}
                  {progress.phase && status === 'running' ? ` (${progress.phase})` : ''}
                </Field>
              ) : null}
              {chunks ? (
                <Field label="Chunks">
                  <ChunkProgress chunks={chunks} />
                </Field>
              ) : null}
              {future ? <Field label="Not before">{formatInstant(future)}</Field> : null}
              {migration.window ? (
                <Field label="Window">
                  daily {migration.window.start}–{migration.window.end} {migration.window.timezone ?? 'UTC'}
                </Field>
              ) : null}
              <Field label="Attempts">
                {migration.attempts} of {migration.maxAttempts}
              </Field>
              {migration.lastError ? (
                <Field label="Last error">
                  {migration.lastError.code}: {migration.lastError.message}
                  {migration.lastError.retryable ? ' (will retry)' : ''}
                </Field>
              ) : null}
              {migration.snapshotRef !== undefined && migration.snapshotRef !== null ? (
                <Field label="Snapshot">
                  <code style={{ wordBreak: 'break-all' }}>{formatValue(migration.snapshotRef)}</code>
                </Field>
              ) : null}
              {checks ? (
                <Flex direction="column" gap="1">
                  <Text variant="body-small" weight="bold">
                    Last validation report
                  </Text>
                  <ValidationReport checks={checks} />
                </Flex>
              ) : null}
              <Text variant="body-small" color="secondary">
                Task {migration.taskId}
              </Text>
            </>
          ) : null}
          {notice ? <Alert status={notice.ok ? 'success' : 'danger'} title={notice.text} /> : null}
        </Flex>
      </CardBody>
      {actions.length > 0 ? (
        <CardFooter>
          <Flex gap="2">
            {actions.map((action) => (
              <Button
                key={action}
                variant={action === 'start' || action === 'sign-off' ? 'primary' : 'secondary'}
                destructive={action === 'rollback' || action === 'cancel'}
                isPending={running === action && !confirming}
                isDisabled={running !== undefined}
                onPress={() => (action === 'start' || action === 'requeue' ? run(action) : setConfirming(action))}
              >
                {LABELS[action]}
              </Button>
            ))}
          </Flex>
        </CardFooter>
      ) : null}
      <ConfirmDialog
        open={confirming !== undefined}
        title={confirming ? `${LABELS[confirming]} this migration?` : ''}
        confirmLabel={confirming ? LABELS[confirming] : ''}
        destructive={confirming === 'rollback' || confirming === 'cancel'}
        pending={running !== undefined}
        onConfirm={() => confirming && run(confirming)}
        onCancel={() => setConfirming(undefined)}
      >
        {confirming ? confirmText(confirming, entityRef) : null}
      </ConfirmDialog>
    </Card>
  );
}
