/**
 * @honk/backstage-plugin-honk-backend — the backend plugin `honk`. Add it to a backend with
 * `backend.add(import('@honk/backstage-plugin-honk-backend'))`. See README.md.
 */
export { HonkService, type HonkServiceOptions, MAX_SELECTION } from './honk-service.ts';
export { honkPlugin as default } from './plugin.ts';
export { restoreSnapshot, snapshotToRestore } from './restore-snapshot.ts';
export { actorOf, createRouter, type RouterOptions } from './router.ts';
