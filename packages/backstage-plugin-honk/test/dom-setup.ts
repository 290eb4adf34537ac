/**
 * What the Backstage frontend test utilities expect of a Jest-like environment, under vitest
 * with jsdom: a `jest` global for their mock API helpers, and React Testing Library's cleanup
 * after each test (automatic only with vitest `globals`). Import it first in each `.test.tsx`.
 */
import { cleanup, configure } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

(globalThis as { jest?: unknown }).jest ??= vi;
// The components wait on a real backend, on a 2-core machine shared with other test files:
// findBy/waitFor give up after 20 s, not RTL's default 1 s (a bound, not a timing assertion).
configure({ asyncUtilTimeout: 20_000 });

// jsdom has no CSS.escape; react-aria's selectable collections call it on focus. The spec's
// algorithm (https://drafts.csswg.org/cssom/#serialize-an-identifier), as browsers have it.
const scope = globalThis as { CSS?: { escape?: (value: string) => string } };
scope.CSS ??= {};
const css = scope.CSS;
css.escape ??= (value: string) => {
  let out = '';
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    const char = value.charAt(index);
    if (code === 0) out += '\uFFFD';
    else if ((code >= 0x1 && code <= 0x1f) || code === 0x7f) out += `\\${code.toString(16)} `;
    else if (index === 0 && code >= 0x30 && code <= 0x39) out += `\\${code.toString(16)} `;
    else if (index === 1 && code >= 0x30 && code <= 0x39 && value.charCodeAt(0) === 0x2d)
      out += `\\${code.toString(16)} `;
    else if (index === 0 && value.length === 1 && code === 0x2d) out += `\\${char}`;
    else if (code >= 0x80 || code === 0x2d || code === 0x5f || /[0-9A-Za-z]/.test(char)) out += char;
    else out += `\\${char}`;
  }
  return out;
};

afterEach(() => {
  cleanup();
});
