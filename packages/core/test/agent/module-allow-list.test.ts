import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModuleAllowList } from '../../src/agent/module-allow-list.ts';
import { isHonkError } from '../../src/errors/honk-error.ts';

describe('ModuleAllowList', () => {
  const root = mkdtempSync(join(tmpdir(), 'honk-allow-'));
  mkdirSync(join(root, 'trusted', 'nested'), { recursive: true });
  mkdirSync(join(root, 'elsewhere'));
  writeFileSync(join(root, 'trusted', 'nested', 'ok.ts'), '');
  writeFileSync(join(root, 'elsewhere', 'evil.ts'), '');
  // A link inside the trusted directory that points outside it.
  symlinkSync(join(root, 'elsewhere', 'evil.ts'), join(root, 'trusted', 'link.ts'));

  it('trusts files below an allowed directory, one allowed file, and packages with their subpaths', () => {
    const list = new ModuleAllowList([join(root, 'trusted'), '@acme/connectors', join(root, 'elsewhere', 'one.ts')]);
    expect(list.allows(`${join(root, 'trusted', 'nested', 'ok.ts')}#ftp`)).toBe(true);
    expect(list.allows(join(root, 'elsewhere', 'one.ts'))).toBe(true);
    expect(list.allows('@acme/connectors#ftp')).toBe(true);
    expect(list.allows('@acme/connectors/ftp')).toBe(true);
  });

  it('does not trust a sibling with a common prefix, a symbolic link leaving the directory, a relative path or a look-alike package', () => {
    const list = new ModuleAllowList([`${join(root, 'trusted')}/`, '@acme/connectors']);
    expect(list.allows(join(root, 'trusted-not', 'x.ts'))).toBe(false);
    expect(list.allows(join(root, 'trusted', 'link.ts'))).toBe(false);
    expect(list.allows(join(root, 'trusted', '..', 'elsewhere', 'evil.ts'))).toBe(false);
    expect(list.allows('./trusted/nested/ok.ts')).toBe(false);
    expect(list.allows('@acme/connectors-evil')).toBe(false);
    expect(new ModuleAllowList([]).allows(join(root, 'trusted', 'nested', 'ok.ts'))).toBe(false);
  });

  it('refuses with MODULE_NOT_ALLOWED naming the module, the task and the setting, not retryable', () => {
    const list = new ModuleAllowList(['@acme/connectors']);
    let error: unknown;
    try {
      list.check(`${join(root, 'elsewhere', 'evil.ts')}#evil`, 'the module of connector "evil"', 'orders');
    } catch (caught) {
      error = caught;
    }
    expect(isHonkError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'MODULE_NOT_ALLOWED',
      retryable: false,
      module: join(root, 'elsewhere', 'evil.ts'),
    });
    const message = (error as Error).message;
    expect(message).toContain('Task "orders"');
    expect(message).toContain('--allow-module');
    expect(message).toContain('HONK_ALLOWED_MODULES');
    expect(() => new ModuleAllowList(['./connectors'])).toThrow(/absolute/);
  });
});
