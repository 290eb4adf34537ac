/**
 * What the Backstage frontend test utilities expect of a Jest-like environment, under vitest
 * with jsdom: a `jest` global for their mock API helpers, and React Testing Library's cleanup
 * after each test (automatic only with vitest `globals`). Import it first in each `.test.tsx`.
 */
import { cleanup } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

(globalThis as { jest?: unknown }).jest ??= vi;
// React 18's act() warnings are only meaningful in an act-aware environment.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

afterEach(() => {
  cleanup();
});
