/**
 * Loads a module a spec names (a custom connector, a transform). TypeScript runs through
 * Node's own type stripping, so no compiler is loaded and nothing is built: the module must
 * use erasable syntax only (no `enum`, `namespace` or constructor parameter properties), the
 * same rule the `erasableSyntaxOnly` compiler option checks. {@link moduleLoadFailure} turns
 * Node's refusals into a message that says what to change.
 */

/** Node's error codes for TypeScript it will not run, with what to do about each. */
const TYPESCRIPT_FIXES: Readonly<Record<string, string>> = {
  ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX:
    'Node runs TypeScript by stripping types, so only erasable syntax works: replace enums, namespaces and constructor parameter properties (check with the compiler option "erasableSyntaxOnly"), or compile the module to JavaScript.',
  ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING:
    'Node does not strip types of files inside node_modules: publish the package compiled to JavaScript, or name the .ts file by a path outside node_modules.',
  ERR_UNKNOWN_FILE_EXTENSION: 'Use a .ts, .mts, .js or .mjs file (JSX and .tsx are not supported).',
  ERR_INVALID_TYPESCRIPT_SYNTAX: 'Fix the syntax error the message names.',
};

/**
 * Why loading a module failed, for a ConfigError: Node's message, followed by what to change
 * when Node refused the module's TypeScript.
 */
export function moduleLoadFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const fix = typeof code === 'string' && Object.hasOwn(TYPESCRIPT_FIXES, code) ? TYPESCRIPT_FIXES[code] : undefined;
  return fix ? `${message.replace(/[.\s]*$/, '')}. ${fix}` : message;
}
