/**
 * The example's permission policy: operators (by user or group ref) may act on migrations,
 * everyone else may only read them; permissions of other plugins are not its business.
 */
import type { BackstageUserPrincipal } from '@backstage/backend-plugin-api';
import { AuthorizeResult, createPermission } from '@backstage/plugin-permission-common';
import type { PolicyQueryUser } from '@backstage/plugin-permission-node';
import { honkMigrationReadPermission, honkPermissions } from '@honk/backstage-plugin-honk-common';
import { describe, expect, it } from 'vitest';
import { HonkExamplePolicy } from '../backend/permission-policy.ts';

function user(userEntityRef: string, ownershipEntityRefs: string[]): PolicyQueryUser {
  const principal: BackstageUserPrincipal = { type: 'user', userEntityRef };
  return {
    credentials: { $$type: '@backstage/BackstageCredentials', principal },
    info: { userEntityRef, ownershipEntityRefs },
  } as PolicyQueryUser;
}

const policy = new HonkExamplePolicy(['group:default/data-platform', 'user:default/grace']);
const ada = user('user:default/ada', ['user:default/ada', 'group:default/data-platform']);
const grace = user('user:default/grace', ['user:default/grace']);
const bob = user('user:default/bob', ['user:default/bob', 'group:default/sales']);
const catalogRead = createPermission({ name: 'catalog.entity.read', attributes: { action: 'read' } });

describe('HonkExamplePolicy', () => {
  it('allows every honk permission to members of an operator group and to operator users', async () => {
    for (const permission of honkPermissions) {
      expect((await policy.handle({ permission }, ada)).result, permission.name).toBe(AuthorizeResult.ALLOW);
      expect((await policy.handle({ permission }, grace)).result, permission.name).toBe(AuthorizeResult.ALLOW);
    }
  });

  it('lets everyone else read migrations but not start, requeue, cancel, roll back or sign off', async () => {
    for (const permission of honkPermissions) {
      const expected = permission === honkMigrationReadPermission ? AuthorizeResult.ALLOW : AuthorizeResult.DENY;
      expect((await policy.handle({ permission }, bob)).result, permission.name).toBe(expected);
    }
    expect((await policy.handle({ permission: honkPermissions[1]! })).result).toBe(AuthorizeResult.DENY);
  });

  it('leaves the permissions of other plugins allowed', async () => {
    expect((await policy.handle({ permission: catalogRead }, bob)).result).toBe(AuthorizeResult.ALLOW);
  });
});
