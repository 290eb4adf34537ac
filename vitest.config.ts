import { defineConfig } from 'vitest/config';

// glibc raises its mmap threshold after freeing large blocks, so later large buffers come from
// per-thread arenas that keep freed memory resident: with worker threads, hundreds of MiB of
// RSS no live object holds, which the bounded-memory tests would count. A fixed threshold keeps
// large buffers mmap'd and returned on free. Set before the test forks start; documented for
// users in packages/core/docs/threads.md.
process.env.MALLOC_MMAP_THRESHOLD_ ??= '131072';

export default defineConfig({
  test: {
    // `.test.tsx`: React component tests (Backstage frontend plugin), each under
    // `// @vitest-environment jsdom` and importing its test/dom-setup.ts first.
    include: ['packages/*/test/**/*.test.{ts,tsx}', 'examples/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration tests start real servers (PostgreSQL, S3) and move real data: run files
    // in a few forks, not one per core, so a 2-core CI box is not oversubscribed.
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['./test/global-setup.ts'],
    // A Backstage frontend dependency whose published ESM Node cannot load as it is (it
    // imports the directory `@mui/material/Popover`): vite transforms it instead.
    server: { deps: { inline: ['material-ui-popup-state'] } },
  },
});
