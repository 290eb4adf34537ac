/**
 * Secret hygiene. Values resolved from `${env:…}` references, passwords in URLs and any
 * option whose name looks like a credential are replaced before they reach a message,
 * log line or report.
 */

const SECRET_KEY = /(pass(word)?|secret|token|credential|private[-_]?key|access[-_]?key|api[-_]?key|auth)/i;
const URL_USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)([^:/@\s]+):([^@/\s]+)@/gi;

const registeredSecrets = new Set<string>();

/** Remember a value that must never be printed (e.g. a resolved `${env:X}`). */
export function registerSecret(value: string): void {
  if (value.length >= 4) registeredSecrets.add(value);
}

/** Replace passwords in URLs and registered secret values inside free text. */
export function redactText(text: string): string {
  let out = text.replace(URL_USERINFO, '$1$2:***@');
  for (const secret of registeredSecrets) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}

/** Deep copy of an options object with credential-like keys and embedded secrets masked. */
export function redact<T>(value: T): T {
  if (typeof value === 'string') return redactText(value) as T;
  if (Array.isArray(value)) return value.map((item) => redact(item)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && item != null ? '***' : redact(item);
    }
    return out as T;
  }
  return value;
}
