/**
 * `${env:NAME}` references in spec strings. They are found (and checked for syntax) when a
 * spec is parsed, but replaced only when it is resolved for running, so a spec validates in
 * a CI job that has no secrets, and the values never enter definition hashes, task records
 * or reports. `$${env:NAME}` writes a literal `${env:NAME}`.
 */

/** A well-formed reference, or the escaped form `$${env:NAME}`. */
const REFERENCE = /\$(\$?)\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;
/** Anything that starts like a reference. */
const REFERENCE_START = /\$\{env:/g;

/** One reference found in a spec. */
export interface EnvReference {
  /** The variable name. */
  name: string;
  /** Where it appears, e.g. `connections.warehouse.url`. */
  path: string;
}

/** True when `text` contains an (unescaped) `${env:…}` reference. */
export function hasEnvReference(text: string): boolean {
  for (const match of text.matchAll(REFERENCE)) if (!match[1]) return true;
  return false;
}

/** Names of the variables `text` refers to, in order of appearance. */
export function envReferenceNames(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(REFERENCE)) if (!match[1]) names.push(match[2]!);
  return names;
}

/**
 * A description of what is wrong with a `${env:` in `text`, or undefined when every one is
 * well formed.
 */
export function envReferenceSyntaxError(text: string): string | undefined {
  const starts = [...text.matchAll(REFERENCE_START)].length;
  let wellFormed = 0;
  for (const match of text.matchAll(REFERENCE)) if (match[0].includes('${env:')) wellFormed++;
  if (starts === wellFormed) return undefined;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the message shows users the literal syntax.
  return 'malformed environment reference: expected ${env:NAME} where NAME is letters, digits and underscores, not starting with a digit (write $${env:NAME} for a literal)';
}

/** Resolves the references in one string. `lookup` returns undefined for an unset variable. */
export function substituteEnvReferences(
  text: string,
  lookup: (name: string) => string | undefined,
  onMissing: (name: string) => void,
): string {
  return text.replace(REFERENCE, (whole, escaped: string, name: string) => {
    if (escaped) return whole.slice(1);
    const value = lookup(name);
    if (value === undefined) {
      onMissing(name);
      return '';
    }
    return value;
  });
}
