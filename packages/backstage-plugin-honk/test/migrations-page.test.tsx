// @vitest-environment jsdom
/**
 * The migrations page against a real Backstage backend with Honk's plugins (a child process,
 * see honk-backstage-server.ts): the dataset table comes from the real catalog (filters and
 * paging on the server), live status from the honk backend, and "Start selected" reaches the
 * real bulk start route, whose tasks the test reads back from the store.
 */
import './dom-setup.ts';
import { ApiBlueprint, discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { createExtensionTester, mockApis, renderInTestApp, renderTestApp } from '@backstage/frontend-test-utils';
import { catalogApiRef, entityRouteRef } from '@backstage/plugin-catalog-react';
import { EntityCardBlueprint } from '@backstage/plugin-catalog-react/alpha';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import { screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { SWRConfig } from 'swr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { honkApi, honkApiRef } from '../src/api.ts';
import { MigrationsPage } from '../src/components/migrations-page.tsx';
import honkPlugin, { migrationEntityCard } from '../src/index.ts';
import { type HonkBackstageProcess, startHonkBackstageProcess } from './honk-backstage-process.ts';
import { decided, permissionPolicy } from './permission-policy.ts';

let backstage: HonkBackstageProcess;

beforeAll(async () => {
  backstage = await startHonkBackstageProcess();
});
afterAll(async () => {
  await backstage?.stop();
});

function renderPage(denied: string[] = []) {
  const policy = permissionPolicy(denied);
  renderInTestApp(
    <SWRConfig value={{ provider: () => new Map() }}>
      <MigrationsPage pollIntervalMs={150} />
    </SWRConfig>,
    {
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      apis: [
        [honkApiRef, backstage.honkClient()],
        [catalogApiRef, backstage.catalogClient()],
        [permissionApiRef, policy.api],
      ],
    },
  );
  return policy;
}

const DATASETS = ['legacy-customers', 'warehouse.shop.orders', 'warehouse.shop.payments', 'warehouse.shop.refunds'];

/** The table's data rows, by the entity ref each shows. */
function rowOf(name: string): HTMLElement {
  return screen.getByText(`resource:default/${name}`).closest('[role="row"]') as HTMLElement;
}

function shownRefs(): string[] {
  return screen
    .queryAllByText(/^resource:default\//)
    .map((element) => element.textContent!.replace('resource:default/', ''))
    .sort();
}

async function choose(user: ReturnType<typeof userEvent.setup>, label: string, option: string | RegExp) {
  // The trigger's name is its value and its label (`Any Owner Owner`).
  await user.click(screen.getByRole('button', { name: new RegExp(`${label}$`) }));
  await user.click(await screen.findByRole('option', { name: option }));
}

describe('the plugin', () => {
  it('mounts the migrations page at /honk, on its own Honk API built from the app discovery and fetch APIs', async () => {
    renderTestApp({
      features: [honkPlugin],
      initialRouteEntries: ['/honk'],
      mountedRoutes: { '/catalog/:namespace/:kind/:name': entityRouteRef },
      apis: [
        [discoveryApiRef, backstage.discoveryApi],
        [fetchApiRef, backstage.fetchApi()],
        [catalogApiRef, backstage.catalogClient()],
        mockApis.permission(),
      ],
    });
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS), { timeout: 20_000 });
    // Live status polls went through the plugin's client without an error.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(screen.queryByText(/Live status unavailable/)).toBeNull();
  });

  it('builds a HonkClient that reaches the backend as the signed-in user', async () => {
    const factory = createExtensionTester(honkApi).get(ApiBlueprint.dataRefs.factory);
    expect(factory.api.id).toBe('plugin.honk.client');
    const client = factory.factory({
      discoveryApi: backstage.discoveryApi,
      fetchApi: backstage.fetchApi(),
    }) as never as {
      listMigrations(): Promise<{ totalItems: number }>;
    };
    expect(await client.listMigrations()).toMatchObject({ totalItems: 0 });
    const denied = factory.factory({
      discoveryApi: backstage.discoveryApi,
      fetchApi: backstage.fetchApi('mallory'),
    }) as never as { listMigrations(): Promise<unknown> };
    await expect(denied.listMigrations()).rejects.toMatchObject({ status: 403, errorName: 'NotAllowedError' });
  });

  it('shows the entity card on dataset resources only', () => {
    const filter = createExtensionTester(migrationEntityCard).get(EntityCardBlueprint.dataRefs.filterFunction)!;
    const entity = (kind: string, type: string) => ({
      apiVersion: 'backstage.io/v1alpha1',
      kind,
      metadata: { name: 'x' },
      spec: { type },
    });
    expect(filter(entity('Resource', 'dataset'))).toBe(true);
    expect(filter(entity('Resource', 'database'))).toBe(false);
    expect(filter(entity('Component', 'dataset'))).toBe(false);
  });
});

describe('the migrations page', () => {
  it('lists every dataset with a link to its entity and counts by status', async () => {
    renderPage();
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS));
    const link = within(rowOf('warehouse.shop.orders')).getByRole('link');
    expect(link.getAttribute('href')).toBe('/catalog/default/resource/warehouse.shop.orders');
    const counts = screen.getByRole('group', { name: 'Counts by status' });
    await waitFor(() => expect(within(counts).getByText('4 datasets:')).toBeTruthy());
    expect(within(counts).getByRole('button', { name: 'not started: 4' })).toBeTruthy();
  });

  it('filters on the server by owner and region', async () => {
    const user = userEvent.setup();
    renderPage();
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS));
    await choose(user, 'Owner', /^group:default\/sales/);
    await waitFor(() => expect(shownRefs()).toEqual(['legacy-customers']));
    await choose(user, 'Owner', 'Any');
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS));
    await choose(user, 'Region', /^eu-west-1/);
    await waitFor(() => expect(shownRefs()).toEqual(['legacy-customers']));
  });

  it('hides "Start selected" from a user denied honk.migration.start', async () => {
    const { asked } = renderPage(['honk.migration.start']);
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS));
    await decided(asked, 'honk.migration.start');
    expect(screen.queryByRole('button', { name: /^Start selected/ })).toBeNull();
  });

  it('starts three selected datasets with the chosen window, and shows them pending', async () => {
    const user = userEvent.setup();
    renderPage();
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS));
    const chosen = ['warehouse.shop.orders', 'warehouse.shop.payments', 'warehouse.shop.refunds'];
    for (const name of chosen) await user.click(within(rowOf(name)).getByRole('checkbox'));
    await user.click(await screen.findByRole('button', { name: 'Start selected (3)' }));

    const dialog = await screen.findByRole('dialog');
    const field = (label: string) => within(dialog).getByRole('textbox', { name: new RegExp(`^${label}`) });
    // A half-given window is refused in the dialog, before anything is sent.
    await user.type(field('Window start'), '01:00');
    await user.click(within(dialog).getByRole('button', { name: 'Start 3' }));
    expect(await within(dialog).findByText(/A daily window needs both a start and an end time/)).toBeTruthy();
    expect(await backstage.command<unknown[]>('tasks')).toEqual([]);

    await user.type(field('Window end'), '05:00');
    await user.clear(field('Time zone'));
    await user.type(field('Time zone'), 'Europe/Stockholm');
    await user.type(field('Not before'), '2030-01-01 02:00');
    await user.type(field('Priority'), '7');
    await user.click(within(dialog).getByRole('button', { name: 'Start 3' }));

    expect(await screen.findByText('Started 3 datasets: 3 created.')).toBeTruthy();
    const tasks =
      await backstage.command<
        Array<{ entity: string; priority: number; runAt: string; window: unknown; state: string }>
      >('tasks');
    expect(tasks.map((task) => task.entity).sort()).toEqual(chosen.map((name) => `resource:default/${name}`));
    for (const task of tasks) {
      expect(task).toMatchObject({
        state: 'pending',
        priority: 7,
        // 02:00 in Stockholm on 1 January (CET, UTC+1).
        runAt: '2030-01-01T01:00:00.000Z',
        window: { start: '01:00', end: '05:00', timezone: 'Europe/Stockholm' },
      });
    }
    // Live status from the task store, before the catalog has caught up.
    for (const name of chosen) {
      await waitFor(() =>
        expect(screen.getByTestId(`status-resource:default/${name}`).getAttribute('data-status')).toBe('pending'),
      );
    }
    expect(screen.getByTestId('status-resource:default/legacy-customers').getAttribute('data-status')).toBe(
      'not-started',
    );
    expect(screen.getByRole('button', { name: 'Start selected (0)' })).toBeTruthy();
  });

  it('shows a chunked migration with its chunk count on its row', async () => {
    await backstage.command('enqueue-chunked', {
      task: 'chunky-customers',
      entity: 'resource:default/legacy-customers',
      table: 'shop.customers',
      max: 4,
    });
    await backstage.command('agent-start');
    try {
      await waitFor(
        async () => expect((await backstage.honkClient().getMigration('chunky-customers')).status).toBe('succeeded'),
        { timeout: 60_000 },
      );
    } finally {
      await backstage.command('agent-stop');
    }
    renderPage();
    await waitFor(() => expect(shownRefs()).toEqual(DATASETS));
    await waitFor(() =>
      expect(screen.getByTestId('chunks-resource:default/legacy-customers').textContent).toBe('chunks 4/4'),
    );
    expect(screen.getByTestId('status-resource:default/legacy-customers').getAttribute('data-status')).toBe(
      'succeeded',
    );
    // Only the chunked task's row carries chunks.
    expect(screen.queryByTestId('chunks-resource:default/warehouse.shop.orders')).toBeNull();
  });
});
