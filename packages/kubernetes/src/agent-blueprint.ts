/**
 * The AgentBlueprint: the single description of a Honk agent fleet on Kubernetes (DESIGN §8).
 * `honk manifests <blueprint.yaml>` renders it to Deployments, KEDA scalers, monitoring and
 * policy objects (`render-manifests.ts`).
 *
 * One blueprint describes one fleet sharing one PostgreSQL task store. A fleet has one or
 * more agent *classes*: each class is its own Deployment and scaler, claims only the tasks
 * its labels and connections allow (`HONK_AGENT_LABELS`, `HONK_AGENT_CONNECTIONS`), and can be
 * pinned to nodes of one region, so agents run close to the data they move.
 *
 * Secrets are only ever *referenced* (Secret name and key): a blueprint is meant to be
 * committed, and no rendered object contains a credential.
 */
import { assertAgentLabels } from '@honk/core';
import { z } from 'zod';

/** Variables the rendered pods set themselves; a blueprint cannot set them again. */
export const RENDERED_ENV: readonly string[] = [
  'HONK_STORE',
  'HONK_AGENT_CLASS',
  'HONK_AGENT_LABELS',
  'HONK_AGENT_CONNECTIONS',
  'HONK_ALLOWED_MODULES',
  'NODE_OPTIONS',
  'TMPDIR',
  'MALLOC_MMAP_THRESHOLD_',
];

/** A DNS-1123 label: Kubernetes object and class names. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'expected lower-case letters, digits and "-" (a DNS-1123 label)')
  .max(40, 'at most 40 characters, so derived object names stay under 63');

/** An environment variable name. */
const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name ([A-Za-z_][A-Za-z0-9_]*)');

/** A key of a Kubernetes Secret. */
export const secretRefSchema = z
  .strictObject({
    /** The Secret's name, in the fleet's namespace. */
    name: dnsLabel.max(253),
    /** The key inside the Secret. */
    key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'expected a Secret key ([-._a-zA-Z0-9]+)'),
  })
  .describe('A key of a Kubernetes Secret in the fleet namespace.');

/** A memory quantity with a binary or decimal suffix, e.g. `2Gi`, `1536Mi`, `2G`. */
const memoryQuantity = z
  .string()
  .regex(/^[1-9][0-9]*(Ki|Mi|Gi|Ti|K|M|G|T)?$/, 'expected a memory quantity such as 2Gi, 1536Mi or 2G');

/** A CPU quantity, e.g. `500m`, `1`, `2.5`. */
const cpuQuantity = z.string().regex(/^([1-9][0-9]*m|[0-9]+(\.[0-9]+)?)$/, 'expected a CPU quantity such as 500m or 2');

const replicasSchema = z
  .strictObject({
    /** Fewest agents; 0 lets an empty queue scale the class to nothing. */
    min: z.int().min(0).default(0),
    /** Most agents. */
    max: z.int().min(1).default(10),
  })
  .refine((value) => value.max >= value.min, { message: 'max must be at least min', path: ['max'] });

/** One agent class: a Deployment (or ScaledJob) and its scaler. */
export const agentClassSchema = z.strictObject({
  /** The class name: a metric label (`class`), part of object names. */
  name: dnsLabel,
  /** Labels the agents have (`HONK_AGENT_LABELS`); a task requiring a label only runs on a class that has it. */
  labels: z
    .record(z.string(), z.string())
    .superRefine((labels, context) => {
      // The agents' own rule, so a blueprint never renders a class its agents would refuse.
      try {
        assertAgentLabels(labels, 'labels');
      } catch (error) {
        context.addIssue({ code: 'custom', message: (error as Error).message });
      }
    })
    .default({}),
  /** Only tasks whose connections are all in this list (`HONK_AGENT_CONNECTIONS`). Absent: any. */
  connections: z.array(z.string().min(1)).min(1).optional(),
  /** Pin the class's pods to nodes of this region (`topology.kubernetes.io/region`). */
  region: z.string().min(1).optional(),
  /** More node affinity: a node label and the values it may have (all must hold). */
  nodeAffinity: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).default({}),
  /** Overrides the fleet's concurrency per agent. */
  concurrency: z.int().min(1).optional(),
  /** Overrides the fleet's replica range. */
  replicas: replicasSchema.optional(),
  /**
   * Render a KEDA ScaledJob instead of a Deployment and ScaledObject: each Job's agent runs
   * what its class can claim and exits when nothing is left (for long, bounded runs that
   * should not be interrupted by a scale-down).
   */
  scaledJob: z.boolean().default(false),
});

/** Credentials of one spec connection, handed to agents as environment variables from Secrets. */
const connectionCredentialsSchema = z.strictObject({
  /** Variable name → Secret key; the spec refers to it as `${env:NAME}`. */
  env: z.record(envName, secretRefSchema),
});

export const agentBlueprintSchema = z
  .strictObject({
    /** Blueprint format version. */
    version: z.literal(1),
    /** The fleet's name: a prefix of every object name (`<name>-<class>`). */
    name: dnsLabel,
    /** Namespace of every object. */
    namespace: dnsLabel.max(63).default('default'),
    /** The agent image; its entrypoint (or `command`) runs the `honk` CLI. */
    image: z.string().min(1),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    /** How the image starts the CLI. Default `["honk"]`. */
    command: z.array(z.string().min(1)).min(1).default(['honk']),
    /** Pull secrets for a private registry. */
    imagePullSecrets: z.array(dnsLabel.max(253)).default([]),
    serviceAccountName: dnsLabel.max(253).optional(),
    /** The PostgreSQL task store every agent and the scaler share. */
    store: z.strictObject({
      /**
       * The store URL (`postgres://…`), given to agents as `HONK_STORE` and to KEDA's trigger.
       * The store's tables are in its default schema, `honk`, where `honk agent` keeps them.
       */
      url: secretRefSchema,
    }),
    /** Plain environment variables for every agent. */
    env: z.record(envName, z.string()).default({}),
    /** Environment variables from Secrets for every agent. */
    secretEnv: z.record(envName, secretRefSchema).default({}),
    /** Per-connection credentials (by the spec's connection name), as Secret refs. */
    connections: z.record(z.string().min(1), connectionCredentialsSchema).default({}),
    /** Connector and transform modules agents may load (`HONK_ALLOWED_MODULES`): package names or absolute paths. */
    modules: z
      .array(
        z
          .string()
          .min(1)
          .refine((entry) => !entry.includes(','), 'a module entry cannot contain a comma'),
      )
      .default([]),
    resources: z
      .strictObject({
        /** Memory request and limit (always equal: an agent is never OOM-killed for using what it asked for). */
        memory: memoryQuantity.default('2Gi'),
        /** CPU request. */
        cpu: cpuQuantity.default('1'),
        /** CPU limit. Absent: none (throttling a transfer slows it without saving anything). */
        cpuLimit: cpuQuantity.optional(),
        /**
         * Share of the memory limit the Node heap may use (`--max-old-space-size`); the rest is
         * for Arrow buffers, worker threads and native memory. Default 0.6.
         */
        heapFraction: z.number().min(0.1).max(0.9).default(0.6),
        /** Size of the writable `/tmp` (an emptyDir; the root filesystem is read-only). */
        tmp: memoryQuantity.default('1Gi'),
      })
      .prefault({}),
    /** Tasks each agent runs at once; also the scaler's target of claimable tasks per agent. */
    concurrency: z.int().min(1).default(2),
    replicas: replicasSchema.prefault({}),
    /**
     * Seconds a stopping agent may take: the pod's terminationGracePeriodSeconds. The agent
     * drains within it (stops claiming, lets running tasks finish) and releases what is still
     * running shortly before the end, so another agent resumes it.
     */
    drainTimeoutSeconds: z.int().min(30).default(300),
    /** The metrics, probe and health port. */
    port: z.int().min(1024).max(65_535).default(9464),
    scaler: z
      .strictObject({
        /** Seconds between KEDA's queries of the store. */
        pollingInterval: z.int().min(1).default(15),
        /** Seconds without claimable tasks before the class scales to `replicas.min`. */
        cooldownPeriod: z.int().min(0).default(300),
      })
      .prefault({}),
    monitoring: z
      .strictObject({
        /** Labels the Prometheus operator selects ServiceMonitors and PrometheusRules by. */
        labels: z.record(z.string(), z.string()).default({}),
        /** Scrape interval. */
        interval: z
          .string()
          .regex(/^[0-9]+(s|m)$/, 'expected a duration such as 30s or 1m')
          .default('30s'),
        /** Namespace Prometheus runs in (the NetworkPolicy lets it scrape). */
        prometheusNamespace: dnsLabel.max(63).default('monitoring'),
        /** Alert when the oldest claimable task has waited this many seconds. */
        backlogAgeSeconds: z.int().min(60).default(1800),
        /** Labels the Grafana sidecar finds dashboards by. */
        dashboardLabels: z.record(z.string(), z.string()).default({ grafana_dashboard: '1' }),
      })
      .prefault({}),
    networkPolicy: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** Restrict egress to DNS and these CIDRs (the store, the data systems). Absent: egress is open. */
        egressCidrs: z
          .array(z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]+$/, 'expected a CIDR such as 10.0.0.0/8'))
          .optional(),
      })
      .prefault({}),
    classes: z.array(agentClassSchema).min(1),
  })
  .superRefine((blueprint, context) => {
    // Every variable is set once: a name given twice, or one the renderer sets itself, would
    // silently lose one of its values in the pod.
    const owner = new Map<string, string>(RENDERED_ENV.map((name) => [name, 'set by honk manifests']));
    const claim = (name: string, path: Array<string | number>) => {
      const previous = owner.get(name);
      if (previous !== undefined) {
        context.addIssue({
          code: 'custom',
          path,
          message: `environment variable ${name} is already ${previous.startsWith('set by') ? previous : `given at ${previous}`}; give each variable once`,
        });
      } else {
        owner.set(name, path.join('.'));
      }
    };
    for (const name of Object.keys(blueprint.env)) claim(name, ['env', name]);
    for (const name of Object.keys(blueprint.secretEnv)) claim(name, ['secretEnv', name]);
    for (const [connection, credentials] of Object.entries(blueprint.connections)) {
      for (const name of Object.keys(credentials.env)) claim(name, ['connections', connection, 'env', name]);
    }
    const seen = new Set<string>();
    for (const [index, agentClass] of blueprint.classes.entries()) {
      if (seen.has(agentClass.name)) {
        context.addIssue({
          code: 'custom',
          path: ['classes', index, 'name'],
          message: `class "${agentClass.name}" is defined twice; class names must be unique`,
        });
      }
      seen.add(agentClass.name);
    }
  });

/** A validated blueprint, defaults applied. */
export type AgentBlueprint = z.output<typeof agentBlueprintSchema>;
/** A blueprint as written (defaults optional). */
export type AgentBlueprintInput = z.input<typeof agentBlueprintSchema>;
/** One class of a validated blueprint. */
export type AgentClass = z.output<typeof agentClassSchema>;
/** A Secret name and key. */
export type SecretRef = z.output<typeof secretRefSchema>;

/** Where the JSON Schema says it lives; informative only. */
export const BLUEPRINT_JSON_SCHEMA_ID = 'https://honk.dev/schemas/agent-blueprint-v1.json';

/**
 * The blueprint's JSON Schema (draft 2020-12), generated from the zod schema so it never
 * drifts from what {@link parseBlueprint} accepts. Editors use it for completion.
 */
export function blueprintJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(agentBlueprintSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return { ...schema, $id: BLUEPRINT_JSON_SCHEMA_ID };
}
