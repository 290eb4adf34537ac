/**
 * The plugin's utility API: the typed `HonkClient` of the common package, built from the app's
 * discovery and fetch APIs (the fetch API adds the signed-in user's token), so every call the
 * card and the page make goes through the same client the backend and scaffolder use.
 */
import { ApiBlueprint, createApiRef, discoveryApiRef, fetchApiRef } from '@backstage/frontend-plugin-api';
import { HonkClient } from '@honk/backstage-plugin-honk-common';

/** What the plugin calls: every public method of `HonkClient`. Apps and tests may supply their own. */
export type HonkApi = { [K in keyof HonkClient]: HonkClient[K] };

/** The API ref of the Honk client (`plugin.honk.client`). */
export const honkApiRef = createApiRef<HonkApi>().with({ id: 'plugin.honk.client', pluginId: 'honk' });

/** `api:honk`: a `HonkClient` over the app's discovery and fetch APIs. */
export const honkApi = ApiBlueprint.make({
  params: (defineParams) =>
    defineParams({
      api: honkApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) => new HonkClient({ discoveryApi, fetchApi }),
    }),
});
