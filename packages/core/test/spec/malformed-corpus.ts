/**
 * A corpus of malformed specs, shared by the spec tests (SpecError with exact paths) and the
 * CLI tests (exit code 2 with the path on stderr). Each case names the spec paths its error
 * must report.
 */

/** `${env:NAME}` written without tripping the template-literal lint. */
const ref = (name: string): string => '$' + '{env:' + name + '}';

const CONNECTIONS = `connections:
  a: { connector: files, root: /a }
  b: { connector: files, root: /b }
`;

/** A spec with one task whose extra lines are `lines` (indented under the task). */
function withTask(lines: string, { source = 'source: { connection: a, path: x.csv, format: csv }' } = {}): string {
  const extra = lines
    .split('\n')
    .filter(Boolean)
    .map((line) => `    ${line}`)
    .join('\n');
  return `version: 1
${CONNECTIONS}tasks:
  - id: t0
    ${source}
    target: { connection: b, path: x.parquet, format: parquet }
${extra}
`;
}

/** A spec whose task list is exactly `tasks`. */
function withTasks(tasks: string): string {
  return `version: 1\n${CONNECTIONS}tasks:\n${tasks}`;
}

const VALID_TASK = `  - id: ok
    source: { connection: a, path: x.csv, format: csv }
    target: { connection: b, path: x.parquet, format: parquet }
`;

export interface MalformedSpecCase {
  name: string;
  yaml: string;
  paths: string[];
  message?: RegExp;
}

export const malformedSpecCases: MalformedSpecCase[] = [
  { name: 'version missing', yaml: `${CONNECTIONS}tasks: []\n`, paths: ['version'], message: /required: expected 1/ },
  {
    name: 'version 2',
    yaml: `version: 2\n${CONNECTIONS}tasks: []\n`,
    paths: ['version'],
    message: /expected 1, got 2/,
  },
  { name: 'version as a string', yaml: `version: "1"\n${CONNECTIONS}tasks: []\n`, paths: ['version'] },
  { name: 'connections missing', yaml: 'version: 1\ntasks: []\n', paths: ['connections'] },
  { name: 'connections is a list', yaml: 'version: 1\nconnections: [a, b]\ntasks: []\n', paths: ['connections'] },
  {
    name: 'connection without connector',
    yaml: 'version: 1\nconnections:\n  a: { root: /a }\ntasks: []\n',
    paths: ['connections.a.connector'],
    message: /required: expected a string/,
  },
  {
    name: 'connector is a number',
    yaml: 'version: 1\nconnections:\n  a: { connector: 5 }\ntasks: []\n',
    paths: ['connections.a.connector'],
    message: /expected a string, got 5/,
  },
  {
    name: 'maxConcurrency 0',
    yaml: 'version: 1\nconnections:\n  a: { connector: files, maxConcurrency: 0 }\ntasks: []\n',
    paths: ['connections.a.maxConcurrency'],
    message: /expected an integer >= 1, got 0/,
  },
  {
    name: 'maxConcurrency fractional',
    yaml: 'version: 1\nconnections:\n  a: { connector: files, maxConcurrency: 1.5 }\ntasks: []\n',
    paths: ['connections.a.maxConcurrency'],
    message: /integer/,
  },
  {
    name: 'connection name with a space',
    yaml: 'version: 1\nconnections:\n  "a b": { connector: files }\ntasks: []\n',
    paths: ['connections["a b"]'],
    message: /connection name/,
  },
  { name: 'tasks missing', yaml: `version: 1\n${CONNECTIONS}`, paths: ['tasks'], message: /required: expected a list/ },
  { name: 'tasks is a mapping', yaml: `version: 1\n${CONNECTIONS}tasks: { id: x }\n`, paths: ['tasks'] },
  {
    name: 'unknown top-level key',
    yaml: `version: 1\n${CONNECTIONS}tasks: []\ntask: []\n`,
    paths: ['task'],
    message: /unknown key "task"; did you mean "tasks"\?/,
  },
  {
    name: 'task without id',
    yaml: withTasks('  - source: { connection: a }\n    target: { connection: b }\n'),
    paths: ['tasks[0].id'],
  },
  {
    name: 'id with a slash',
    yaml: withTasks(VALID_TASK.replace('id: ok', 'id: a/b')),
    paths: ['tasks[0].id'],
    message: /letters, digits/,
  },
  {
    name: 'empty id',
    yaml: withTasks(VALID_TASK.replace('id: ok', 'id: ""')),
    paths: ['tasks[0].id'],
    message: /must not be empty/,
  },
  {
    name: 'duplicate ids',
    yaml: withTasks(VALID_TASK + VALID_TASK.replace('id: ok', 'id: other') + VALID_TASK),
    paths: ['tasks[2].id'],
    message: /duplicate task id "ok": tasks\[0\] and tasks\[2\]/,
  },
  {
    name: 'priority as a word',
    yaml: withTask('priority: high'),
    paths: ['tasks[0].priority'],
    message: /tasks\[0\]\.priority: expected an integer, got "high"/,
  },
  { name: 'priority fractional', yaml: withTask('priority: 1.5'), paths: ['tasks[0].priority'], message: /integer/ },
  {
    name: 'notBefore not a date',
    yaml: withTask('notBefore: tomorrow'),
    paths: ['tasks[0].notBefore'],
    message: /ISO 8601.*got "tomorrow"/,
  },
  {
    name: 'notBefore without a zone',
    yaml: withTask('notBefore: "2026-11-25T00:00:00"'),
    paths: ['tasks[0].notBefore'],
  },
  {
    name: 'bad cron',
    yaml: withTask('schedule: { cron: "every night" }'),
    paths: ['tasks[0].schedule.cron'],
    message: /cron expression/,
  },
  {
    name: 'cron with a bad minute',
    yaml: withTask('schedule: { cron: "61 2 * * *" }'),
    paths: ['tasks[0].schedule.cron'],
  },
  {
    name: 'schedule time zone unknown',
    yaml: withTask('schedule: { cron: "0 2 * * *", timezone: Europe/Atlantis }'),
    paths: ['tasks[0].schedule.timezone'],
    message: /IANA time zone/,
  },
  {
    name: 'schedule unknown key',
    yaml: withTask('schedule: { cron: "0 2 * * *", every: 1d }'),
    paths: ['tasks[0].schedule.every'],
    message: /unknown key "every"/,
  },
  {
    name: 'window start 25:00',
    yaml: withTask('window: { start: "25:00", end: "06:00" }'),
    paths: ['tasks[0].window.start'],
    message: /HH:MM/,
  },
  {
    name: 'window end without leading zero',
    yaml: withTask('window: { start: "00:00", end: "6:00" }'),
    paths: ['tasks[0].window.end'],
  },
  {
    name: 'window time zone unknown',
    yaml: withTask('window: { start: "00:00", end: "06:00", timezone: Mars/Olympus }'),
    paths: ['tasks[0].window.timezone'],
  },
  {
    name: 'window of zero length',
    yaml: withTask('window: { start: "06:00", end: "06:00" }'),
    paths: ['tasks[0].window.end'],
    message: /end equals start/,
  },
  { name: 'window without end', yaml: withTask('window: { start: "06:00" }'), paths: ['tasks[0].window.end'] },
  {
    name: 'task without source',
    yaml: withTasks('  - id: t0\n    target: { connection: b }\n'),
    paths: ['tasks[0].source'],
    message: /required: expected a mapping/,
  },
  {
    name: 'unknown source connection',
    yaml: withTask('', { source: 'source: { connection: legacy, path: x.csv }' }),
    paths: ['tasks[0].source.connection'],
    message: /unknown connection "legacy"; defined connections: a, b/,
  },
  {
    name: 'unknown target connection with a suggestion',
    yaml: withTasks('  - id: t0\n    source: { connection: a }\n    target: { connection: bb }\n').replace(
      '  b: {',
      '  bc: {',
    ),
    paths: ['tasks[0].target.connection'],
    message: /did you mean "bc"\?/,
  },
  {
    name: 'source without connection',
    yaml: withTask('', { source: 'source: { path: x.csv }' }),
    paths: ['tasks[0].source.connection'],
  },
  {
    name: 'unknown publish mode',
    yaml: withTasks('  - id: t0\n    source: { connection: a }\n    target: { connection: b, mode: upsert }\n'),
    paths: ['tasks[0].target.mode'],
    message: /expected one of "replace", "append", "merge", got "upsert"/,
  },
  {
    name: 'merge without key',
    yaml: withTasks('  - id: t0\n    source: { connection: a }\n    target: { connection: b, mode: merge }\n'),
    paths: ['tasks[0].target.key'],
    message: /required when mode is "merge"/,
  },
  {
    name: 'empty key list',
    yaml: withTasks('  - id: t0\n    source: { connection: a }\n    target: { connection: b, mode: merge, key: [] }\n'),
    paths: ['tasks[0].target.key'],
  },
  {
    name: 'transform typo',
    yaml: withTask('transform: { selct: [id] }'),
    paths: ['tasks[0].transform.selct'],
    message: /unknown key "selct"; did you mean "select"\?/,
  },
  {
    name: 'transform.select not a list',
    yaml: withTask('transform: { select: id }'),
    paths: ['tasks[0].transform.select'],
    message: /expected a list, got "id"/,
  },
  {
    name: 'rename to a number',
    yaml: withTask('transform: { rename: { amount: 5 } }'),
    paths: ['tasks[0].transform.rename.amount'],
  },
  {
    name: 'allowLossy as a word',
    yaml: withTask('transform: { allowLossy: "yes" }'),
    paths: ['tasks[0].transform.allowLossy'],
  },
  {
    name: 'module without a path',
    yaml: withTask('transform: { module: "#mask" }'),
    paths: ['tasks[0].transform.module'],
  },
  {
    name: 'zero attempts',
    yaml: withTask('retry: { attempts: 0 }'),
    paths: ['tasks[0].retry.attempts'],
    message: /expected an integer >= 1, got 0/,
  },
  {
    name: 'backoff factor below 1',
    yaml: withTask('retry: { backoff: { factor: 0.5 } }'),
    paths: ['tasks[0].retry.backoff.factor'],
    message: /expected a number >= 1, got 0.5/,
  },
  {
    name: 'retry typo',
    yaml: withTask('retry: { attempt: 3 }'),
    paths: ['tasks[0].retry.attempt'],
    message: /did you mean "attempts"/,
  },
  { name: 'negative sample', yaml: withTask('validate: { sample: -1 }'), paths: ['tasks[0].validate.sample'] },
  {
    name: 'checksum as a word',
    yaml: withTask('validate: { checksum: "on" }'),
    paths: ['tasks[0].validate.checksum'],
    message: /expected true or false, got "on"/,
  },
  {
    name: 'keepFor in words',
    yaml: withTask('snapshot: { keepFor: 7 days }'),
    paths: ['tasks[0].snapshot.keepFor'],
    message: /duration/,
  },
  {
    name: 'snapshot as a word',
    yaml: withTask('snapshot: sometimes'),
    paths: ['tasks[0].snapshot'],
    message: /expected true, false or \{ keepFor: "7d" \}/,
  },
  {
    name: 'snapshot object typo',
    yaml: withTask('snapshot: { keep: 7d }'),
    paths: ['tasks[0].snapshot.keep'],
    message: /did you mean "keepFor"/,
  },
  { name: 'label value a number', yaml: withTask('labels: { team: 5 }'), paths: ['tasks[0].labels.team'] },
  { name: 'batchRows 0', yaml: withTask('batchRows: 0'), paths: ['tasks[0].batchRows'] },
  {
    name: 'defaults typo',
    yaml: `version: 1\n${CONNECTIONS}defaults: { retries: { attempts: 2 } }\ntasks: []\n`,
    paths: ['defaults.retries'],
    message: /did you mean "retry"/,
  },
  {
    name: 'defaults keepFor in weeks',
    yaml: `version: 1\n${CONNECTIONS}defaults: { snapshot: { keepFor: 1w } }\ntasks: []\n`,
    paths: ['defaults.snapshot.keepFor'],
  },
  {
    name: 'connectors not a list',
    yaml: `version: 1\n${CONNECTIONS}connectors: ./x.ts\ntasks: []\n`,
    paths: ['connectors'],
  },
  {
    name: 'malformed env reference',
    yaml: `version: 1\nconnections:\n  a: { connector: files, root: "${ref('1BAD')}" }\ntasks: []\n`,
    paths: ['connections.a.root'],
    message: /malformed environment reference/,
  },
  {
    name: 'env reference in a task id',
    yaml: withTasks(VALID_TASK.replace('id: ok', `id: "${ref('TASK')}"`)),
    paths: ['tasks[0].id'],
    message: /environment references are not allowed here/,
  },
  {
    name: 'env reference in a window time zone',
    yaml: withTask(`window: { start: "00:00", end: "06:00", timezone: "${ref('TZ')}" }`),
    paths: ['tasks[0].window.timezone'],
    message: /environment references are not allowed here/,
  },
  {
    name: 'task key in the wrong case',
    yaml: withTask('notbefore: "2026-11-25T00:00:00Z"'),
    paths: ['tasks[0].notbefore'],
    message: /did you mean "notBefore"/,
  },
  { name: 'entity a number', yaml: withTask('entity: 42'), paths: ['tasks[0].entity'] },
  {
    name: 'fourth task broken',
    yaml: withTasks(
      VALID_TASK.replace('id: ok', 'id: t0') +
        VALID_TASK.replace('id: ok', 'id: t1') +
        VALID_TASK.replace('id: ok', 'id: t2') +
        '  - id: t3\n    source: { connection: a }\n    target: { path: x }\n',
    ),
    paths: ['tasks[3].target.connection'],
  },
  {
    name: 'several problems reported at once',
    yaml: withTask('priority: high\nwindow: { start: "00:00", end: "99:00" }\nsnapshot: { keepFor: soon }'),
    paths: ['tasks[0].priority', 'tasks[0].window.end', 'tasks[0].snapshot.keepFor'],
  },
  {
    name: 'YAML: bad indentation',
    yaml: 'version: 1\nconnections:\n  a: { connector: files\ntasks: []\n',
    paths: [''],
  },
  {
    name: 'YAML: duplicate key',
    yaml: `version: 1\nversion: 1\n${CONNECTIONS}tasks: []\n`,
    paths: [''],
    message: /unique/,
  },
  { name: 'empty document', yaml: '', paths: [''], message: /expected a mapping/ },
];
