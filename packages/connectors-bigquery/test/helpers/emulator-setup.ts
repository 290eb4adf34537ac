/**
 * Test wiring: the official client pointed at an emulator on loopback, with no credentials
 * (PassThroughClient, see create-bigquery-client.ts) and the Google auth library's metadata
 * server probe switched off, so no request can leave the machine.
 */
import { type BigQueryConnectionOptions, bigQueryApiFor, bigQueryConnectionSchema } from '../../src/index.ts';
import { type BigQueryEmulator, type BigQueryEmulatorOptions, startBigQueryEmulator } from '../../src/testing/index.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

export const PROJECT = 'honk-test';

export interface EmulatorHarness {
  emulator: BigQueryEmulator;
  options: BigQueryConnectionOptions;
  api: ReturnType<typeof bigQueryApiFor>;
}

/** An in-process emulator with the given datasets, and connection options for it. */
export async function startEmulatorHarness(
  datasets: string[],
  overrides: Partial<BigQueryConnectionOptions> = {},
  emulatorOptions: Omit<BigQueryEmulatorOptions, 'project' | 'datasets'> = {},
): Promise<EmulatorHarness> {
  const emulator = await startBigQueryEmulator({ project: PROJECT, datasets, ...emulatorOptions });
  const options = bigQueryConnectionSchema.parse({
    projectId: PROJECT,
    apiEndpoint: emulator.endpoint,
    storageApiEndpoint: emulator.storageEndpoint,
    ...overrides,
  });
  return { emulator, options, api: bigQueryApiFor(options, 'test') };
}

export const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export function context(taskId = 'task') {
  return { taskId, connectionName: 'test', signal: new AbortController().signal, logger: quiet };
}
