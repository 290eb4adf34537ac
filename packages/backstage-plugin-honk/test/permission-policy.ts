/**
 * The browser-side permission answers of a component test: every honk permission allowed but
 * those in `denied`, and a record of what was asked, so a test can wait until a denied
 * permission was actually decided before it asserts that a button stays hidden.
 */
import { mockApis } from '@backstage/frontend-test-utils';
import { AuthorizeResult } from '@backstage/plugin-permission-common';

export function permissionPolicy(denied: string[] = []) {
  const asked = new Set<string>();
  const api = mockApis.permission({
    authorize: (request) => {
      asked.add(request.permission.name);
      return denied.includes(request.permission.name) ? AuthorizeResult.DENY : AuthorizeResult.ALLOW;
    },
  });
  return { api, asked };
}

/** Resolves once `name` was decided and React had a moment to render the answer. */
export async function decided(asked: ReadonlySet<string>, name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!asked.has(name)) {
    if (Date.now() > deadline) throw new Error(`permission ${name} was never asked`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await new Promise((resolve) => setTimeout(resolve, 300));
}
