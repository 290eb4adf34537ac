/**
 * Loads a module a spec names (a custom connector, a transform). TypeScript runs through
 * Node's own type stripping, so no compiler is loaded and nothing is built: the module must
 * use erasable syntax only (no `enum`, `namespace` or constructor parameter properties), the
 * same rule the `erasableSyntaxOnly` compiler option checks. {@link moduleLoadFailure} turns
 * Node's refusals into a message that says what to change.
 */
import { existsSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';

/** Node's error codes for TypeScript it will not run, with what to do about each. */
const TYPESCRIPT_FIXES: Readonly<Record<string, string>> = {
  ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX:
    'Node runs TypeScript by stripping types, so only erasable syntax works: replace enums, namespaces and constructor parameter properties (check with the compiler option "erasableSyntaxOnly"), or compile the module to JavaScript.',
  ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING:
    'Node does not strip types of files inside node_modules: publish the package compiled to JavaScript, or name the .ts file by a path outside node_modules.',
  ERR_UNKNOWN_FILE_EXTENSION: 'Use a .ts, .mts, .js or .mjs file (JSX and .tsx are not supported).',
  ERR_INVALID_TYPESCRIPT_SYNTAX: 'Fix the syntax error the message names.',
};

/** Errors of ES module syntax that Node loaded as CommonJS (and of CommonJS requiring it back). */
const LOADED_AS_COMMONJS =
  /Cannot use import statement outside a module|Unexpected token 'export'|Cannot require\(\) ES Module/;
const COMMONJS_CODES = new Set(['ERR_REQUIRE_CYCLE_MODULE', 'ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']);

/** The package.json that decides how `file` loads: the nearest one above it. */
function nearestPackageJson(file: string): string | undefined {
  let dir = dirname(file);
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function commonJsFix(file: string | undefined): string {
  const extension = file ? extname(file) : '';
  const renamed = extension === '.ts' || extension === '.cts' ? '.mts' : '.mjs';
  const owner = file ? nearestPackageJson(file) : undefined;
  const where = owner ? `${owner} makes it CommonJS` : 'its package makes it CommonJS';
  return `The module uses ES module syntax (import/export) but Node loads it as CommonJS: ${where}. Add "type": "module" to ${owner ?? 'the nearest package.json'}, or rename the file to ${renamed}.`;
}

/**
 * Why loading a module failed, for a ConfigError: Node's message, followed by what to change
 * when Node refused the module's TypeScript or loaded ES module syntax as CommonJS. `file`
 * is the module's path, when it is one (it names the package.json to change).
 */
export function moduleLoadFailure(error: unknown, file?: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  let fix = typeof code === 'string' && Object.hasOwn(TYPESCRIPT_FIXES, code) ? TYPESCRIPT_FIXES[code] : undefined;
  if (!fix && ((typeof code === 'string' && COMMONJS_CODES.has(code)) || LOADED_AS_COMMONJS.test(message))) {
    fix = commonJsFix(file);
  }
  return fix ? `${message.replace(/[.\s]*$/, '')}. ${fix}` : message;
}
