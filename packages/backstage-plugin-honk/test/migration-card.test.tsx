// @vitest-environment jsdom
/**
 * The entity card against a real Backstage backend with Honk's plugins (a child process, see
 * honk-backstage-server.ts) and a real Honk agent: the card's HonkClient talks HTTP to it as
 * the signed-in user. Permissions in the browser come from the test's permission API (the
 * backend enforces its own); a denied permission hides its button.
 */
import './dom-setup.ts';
import type { Entity } from '@backstage/catalog-model';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import type { HonkClient, MigrationDetail } from '@honk/backstage-plugin-honk-common';
import { cleanup, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { SWRConfig } from 'swr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { honkApiRef } from '../src/api.ts';
import { HonkMigrationCard } from '../src/components/migration-card.tsx';
import { type HonkBackstageProcess, startHonkBackstageProcess } from './honk-backstage-process.ts';
import { decided, permissionPolicy } from './permission-policy.ts';

let backstage: HonkBackstageProcess;
let honk: HonkClient;

beforeAll(async () => {
  backstage = await startHonkBackstageProcess();
  honk = backstage.honkClient();
});
afterAll(async () => {
  await backstage?.stop();
});

async function entity(name: string): Promise<Entity> {
  const found = await backstage.catalogClient().getEntityByRef(`resource:default/${name}`);
  if (!found) throw new Error(`no entity ${name}`);
  return found;
}

/** Renders the card of `name` with the permissions in `denied` refused. */
async function renderCard(name: string, denied: string[] = []) {
  const dataset = await entity(name);
  const policy = permissionPolicy(denied);
  renderInTestApp(
    // usePermission caches answers in SWR's global cache; each render gets its own.
    <SWRConfig value={{ provider: () => new Map() }}>
      <EntityProvider entity={dataset}>
        <HonkMigrationCard pollIntervalMs={150} />
      </EntityProvider>
    </SWRConfig>,
    {
      apis: [
        [honkApiRef, honk],
        [permissionApiRef, policy.api],
      ],
    },
  );
  return policy;
}

const button = (name: string) => screen.queryByRole('button', { name });
const shownStatus = () => screen.queryByTestId('honk-status')?.textContent;

async function migrationOf(name: string): Promise<MigrationDetail> {
  return honk.getEntityMigration(`resource:default/${name}`);
}

describe('the migration card', () => {
  it('offers Start, and nothing else, on a dataset never migrated', async () => {
    await renderCard('warehouse.shop.payments');
    expect(await screen.findByText('This dataset has not been migrated yet.')).toBeTruthy();
    await waitFor(() => expect(button('Start')).toBeTruthy());
    expect(button('Sign off')).toBeNull();
    expect(button('Roll back')).toBeNull();
  });

  it('shows no Start button to a user denied honk.migration.start', async () => {
    const { asked } = await renderCard('warehouse.shop.payments', ['honk.migration.start']);
    expect(await screen.findByText('This dataset has not been migrated yet.')).toBeTruthy();
    await decided(asked, 'honk.migration.start');
    expect(button('Start')).toBeNull();
  });

  it('starts a migration, follows it live to succeeded with its validation report, and signs it off after confirming', async () => {
    const user = userEvent.setup();
    await renderCard('warehouse.shop.orders');
    await user.click(await screen.findByRole('button', { name: 'Start' }));
    await waitFor(() => expect(shownStatus()).toBe('pending'));
    expect(screen.getByText('Migration started.')).toBeTruthy();
    expect((await migrationOf('warehouse.shop.orders')).status).toBe('pending');

    await backstage.command('agent-start');
    try {
      await waitFor(() => expect(shownStatus()).toBe('succeeded'), { timeout: 60_000 });
    } finally {
      await backstage.command('agent-stop');
    }
    // The start's notice went once the migration ended: the status tells the rest.
    expect(screen.queryByText('Migration started.')).toBeNull();
    const report = await screen.findByRole('table', { name: 'Validation report' });
    const rowCount = within(report).getByText('row-count').closest('tr')!;
    expect(within(rowCount).getAllByText('500')).toHaveLength(2);
    expect(within(rowCount).getByText('ok')).toBeTruthy();
    expect(screen.getByText(/500 rows/)).toBeTruthy();
    expect(screen.getByText('1 of 3', { exact: false })).toBeTruthy();
    // The first run had nothing to snapshot in the target: no roll back offered.
    expect(button('Roll back')).toBeNull();

    await user.click(screen.getByRole('button', { name: 'Sign off' }));
    const dialog = await screen.findByRole('dialog');
    expect(
      within(dialog).getByText(/Sign off the migration of resource:default\/warehouse\.shop\.orders\?/),
    ).toBeTruthy();
    // Nothing is recorded until the dialog is confirmed.
    expect((await migrationOf('warehouse.shop.orders')).signedOff).toBeUndefined();
    await user.click(within(dialog).getByRole('button', { name: 'Sign off' }));

    await waitFor(() => expect(shownStatus()).toBe('migrated'));
    const signed = (await migrationOf('warehouse.shop.orders')).signedOff!;
    expect(signed.by).toBe('user:default/alice');
    expect(screen.getByText(/by user:default\/alice on/)).toBeTruthy();
    expect(button('Sign off')).toBeNull();
    expect(button('Start')).toBeNull();
  });

  it('rolls a re-run back only after the dialog is confirmed, and hides Roll back without its permission', async () => {
    // Two runs: the second one replaces a target that exists, so it keeps a snapshot.
    await honk.startMigration({ entityRef: 'resource:default/warehouse.shop.refunds' });
    await backstage.command('agent-start');
    try {
      await waitForStatus('warehouse.shop.refunds', 'succeeded');
      await backstage.command('sql', {
        text: "INSERT INTO shop.refunds SELECT i, 'late' FROM generate_series(501, 620) i",
      });
      await honk.startMigration({ entityRef: 'resource:default/warehouse.shop.refunds', rerun: true });
      await waitForStatus('warehouse.shop.refunds', 'succeeded', (detail) => detail.history.length === 2);
    } finally {
      await backstage.command('agent-stop');
    }
    expect((await migrationOf('warehouse.shop.refunds')).snapshotRef).toBeTruthy();

    const { asked } = await renderCard('warehouse.shop.refunds', ['honk.migration.rollback']);
    await waitFor(() => expect(button('Sign off')).toBeTruthy());
    await decided(asked, 'honk.migration.rollback');
    expect(button('Roll back')).toBeNull();
    expect(screen.getByText('Snapshot')).toBeTruthy();
    cleanup();

    const user = userEvent.setup();
    await renderCard('warehouse.shop.refunds');
    await user.click(await screen.findByRole('button', { name: 'Roll back' }));
    const dialog = await screen.findByRole('dialog');
    expect(within(dialog).getByText(/The migrated data in the target is replaced/)).toBeTruthy();
    // Backing out changes nothing.
    await user.click(within(dialog).getByRole('button', { name: 'Keep as is' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect((await migrationOf('warehouse.shop.refunds')).status).toBe('succeeded');

    await user.click(screen.getByRole('button', { name: 'Roll back' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Roll back' }));
    await waitFor(() => expect(shownStatus()).toBe('rolled-back'));
    expect((await migrationOf('warehouse.shop.refunds')).rolledBack?.by).toBe('user:default/alice');
    // A rolled-back dataset can be started again (a re-run), not signed off.
    await waitFor(() => expect(button('Start')).toBeTruthy());
    expect(button('Sign off')).toBeNull();
  });

  it('cancels a scheduled migration after confirming, then requeues it', async () => {
    await honk.startMigration({
      entityRef: 'resource:default/legacy-customers',
      notBefore: '2099-01-01T00:00:00Z',
      window: { start: '01:00', end: '05:00', timezone: 'Europe/Stockholm' },
    });
    const user = userEvent.setup();
    await renderCard('legacy-customers');
    await waitFor(() => expect(shownStatus()).toBe('pending'));
    expect(screen.getByText(/daily 01:00–05:00 Europe\/Stockholm/)).toBeTruthy();
    expect(screen.getByText(/2099/)).toBeTruthy();

    await user.click(await screen.findByRole('button', { name: 'Cancel' }));
    await user.click(within(await screen.findByRole('dialog')).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(shownStatus()).toBe('cancelled'));

    await user.click(await screen.findByRole('button', { name: 'Requeue' }));
    await waitFor(() => expect(shownStatus()).toBe('pending'));
    expect((await migrationOf('legacy-customers')).state).toBe('pending');
  });

  it('draws a chunked migration as its chunks: "chunks 3/3 succeeded (500 rows)" over a progress bar', async () => {
    await backstage.command('enqueue-chunked', {
      task: 'chunky-payments',
      entity: 'resource:default/warehouse.shop.payments',
      table: 'shop.payments',
      max: 3,
    });
    await renderCard('warehouse.shop.payments');
    await waitFor(() => expect(shownStatus()).toBe('pending'));
    await backstage.command('agent-start');
    try {
      await waitFor(() => expect(shownStatus()).toBe('succeeded'), { timeout: 60_000 });
    } finally {
      await backstage.command('agent-stop');
    }
    await waitFor(() => expect(screen.getByTestId('honk-chunks').textContent).toBe('chunks 3/3 succeeded (500 rows)'));
    const bar = screen.getByRole('progressbar', { name: 'Chunks succeeded' });
    expect(bar.getAttribute('aria-valuenow')).toBe('3');
    expect(bar.getAttribute('aria-valuemax')).toBe('3');
    expect(bar.getAttribute('aria-valuetext')).toBe('3 of 3 chunks succeeded');
    // The card reads what the backend says: its chunk counts.
    expect((await migrationOf('warehouse.shop.payments')).chunks).toEqual({
      total: 3,
      states: { succeeded: 3 },
      rows: 500,
    });
  });
});

async function waitForStatus(
  name: string,
  status: string,
  also: (detail: MigrationDetail) => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const detail = await migrationOf(name).catch(() => undefined);
    if (detail?.status === status && also(detail)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} did not reach ${status}`);
}
