/**
 * Reading a blueprint: YAML (or JSON) text or an object, checked as a whole so one run lists
 * every problem, each with its path in the file (`classes[1].region`) and, for text, its line.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@honk/core';
import { type Document, isMap, isNode, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import type { core } from 'zod';
import { type AgentBlueprint, agentBlueprintSchema } from './agent-blueprint.ts';

/** One problem in a blueprint. */
export interface BlueprintIssue {
  /** Where, e.g. `classes[1].region`; empty for the whole document. */
  path: string;
  message: string;
  /** 1-based, when the blueprint came from text. */
  line?: number;
}

/** A blueprint is invalid. Code `CONFIG_INVALID` (the CLI exits 2), never retryable. */
export class BlueprintError extends ConfigError {
  readonly issues: BlueprintIssue[];
  readonly sourceName: string;

  constructor(issues: BlueprintIssue[], sourceName: string, options: { cause?: unknown } = {}) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    const lines = issues.map(
      (issue) => `  - ${issue.path || '(document)'}: ${issue.message}${issue.line ? ` (line ${issue.line})` : ''}`,
    );
    super(
      `Blueprint ${sourceName} is invalid (${count}):\n${lines.join('\n')}\nSee the AgentBlueprint reference in @honk/kubernetes's README.`,
      { cause: options.cause, details: { issues, sourceName } },
    );
    this.name = 'BlueprintError';
    this.issues = issues;
    this.sourceName = sourceName;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      out += /^[A-Za-z0-9_$-]+$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function issueMessage(issue: core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined) {
    return `required: expected ${issue.expected}`;
  }
  return issue.message;
}

function lineOf(document: Document, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  for (let length = path.length; length >= 0; length--) {
    const prefix = path.slice(0, length) as Array<string | number>;
    if (length > 0) {
      const parent = length === 1 ? document.contents : document.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const pair = parent.items.find(
          (item) => isPair(item) && isScalar(item.key) && item.key.value === prefix[length - 1],
        );
        if (isNode(pair?.key) && pair.key.range) return lineCounter.linePos(pair.key.range[0]).line;
        continue;
      }
    }
    const node = length === 0 ? document.contents : document.getIn(prefix, true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
  }
  return undefined;
}

/** Validates a blueprint given as YAML/JSON text or as an object. Throws {@link BlueprintError}. */
export function parseBlueprint(input: string | object, sourceName = 'blueprint'): AgentBlueprint {
  let raw: unknown = input;
  let locate: ((path: readonly PropertyKey[]) => number | undefined) | undefined;
  if (typeof input === 'string') {
    const lineCounter = new LineCounter();
    const document = parseDocument(input, { lineCounter, prettyErrors: false, uniqueKeys: true });
    if (document.errors.length > 0) {
      throw new BlueprintError(
        document.errors.map((error) => ({
          path: '',
          message: `YAML syntax error: ${error.message}`,
          line: lineCounter.linePos(error.pos[0]).line,
        })),
        sourceName,
      );
    }
    raw = document.toJS({ maxAliasCount: 100 });
    locate = (path) => lineOf(document, lineCounter, path);
  }
  const result = agentBlueprintSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues: BlueprintIssue[] = [];
  for (const issue of result.error.issues) {
    const found =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: [...issue.path, key], message: `unknown key "${key}"` }))
        : [{ path: issue.path, message: issueMessage(issue) }];
    for (const { path, message } of found) {
      const line = locate?.(path);
      issues.push({
        path: formatPath(path),
        message,
        ...(line === undefined ? {} : { line }),
      });
    }
  }
  throw new BlueprintError(issues, sourceName);
}

/**
 * Reads and validates a blueprint file. A missing file is a ConfigError naming the path.
 * `sourceName` (default `path`) names the file in messages, e.g. as the user typed it.
 */
export async function loadBlueprint(path: string, sourceName = path): Promise<AgentBlueprint> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `Blueprint file "${sourceName}" does not exist. Check the path.`
        : `Cannot read blueprint file "${sourceName}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  return parseBlueprint(text, sourceName);
}
