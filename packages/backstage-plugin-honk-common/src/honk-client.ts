/**
 * A typed client for the honk backend's routes, usable in browsers and in backends: it takes
 * the two things Backstage hands both (a discovery API and a fetch API), structurally, so
 * this package depends on neither the frontend nor the backend plugin API.
 */
import type {
  BulkStartRequest,
  GenerateTasksRequest,
  GenerateTasksResponse,
  ListMigrationsQuery,
  ListMigrationsResponse,
  MigrationDetail,
  MigrationSummary,
  StartMigrationRequest,
  StartResponse,
} from './migration-types.ts';

/** The backend plugin id, as mounted under `/api/honk`. */
export const HONK_PLUGIN_ID = 'honk';

/** Where plugins live: Backstage's `discoveryApi` (frontend) or `DiscoveryService` (backend). */
export interface HonkDiscovery {
  getBaseUrl(pluginId: string): Promise<string>;
}

/** How requests are sent: Backstage's `fetchApi` (adds the user's token) or a fetch that adds a service token. */
export interface HonkFetch {
  fetch: typeof fetch;
}

/** Per-call options: a token to send (backends acting on behalf of a user), an abort signal. */
export interface HonkRequestOptions {
  token?: string;
  signal?: AbortSignal;
}

/** A response that was not 2xx, with what the backend said. */
export class HonkApiError extends Error {
  readonly status: number;
  /** Backstage's error name (`NotAllowedError`, `InputError` …), when the body had one. */
  readonly errorName: string | undefined;
  readonly body: unknown;

  constructor(status: number, message: string, errorName: string | undefined, body: unknown) {
    super(message);
    this.name = 'HonkApiError';
    this.status = status;
    this.errorName = errorName;
    this.body = body;
  }
}

export class HonkClient {
  readonly #discovery: HonkDiscovery;
  readonly #fetch: typeof fetch;

  constructor(options: { discoveryApi: HonkDiscovery; fetchApi?: HonkFetch }) {
    this.#discovery = options.discoveryApi;
    this.#fetch = options.fetchApi ? options.fetchApi.fetch.bind(options.fetchApi) : globalThis.fetch.bind(globalThis);
  }

  /** `GET /health`, open to everyone. */
  health(options?: HonkRequestOptions): Promise<{ status: 'ok'; store: string }> {
    return this.#request('GET', '/health', undefined, options);
  }

  /** `GET /migrations`: filtered, paged, with counts by status. */
  listMigrations(query: ListMigrationsQuery = {}, options?: HonkRequestOptions): Promise<ListMigrationsResponse> {
    const params = new URLSearchParams();
    for (const status of query.status ?? []) params.append('status', status);
    for (const ref of query.entityRef ?? []) params.append('entityRef', ref);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.offset !== undefined) params.set('offset', String(query.offset));
    const search = params.size > 0 ? `?${params}` : '';
    return this.#request('GET', `/migrations${search}`, undefined, options);
  }

  /** `GET /migrations/:taskId`: history, validation report, snapshot, sign-off. */
  getMigration(taskId: string, options?: HonkRequestOptions): Promise<MigrationDetail> {
    return this.#request('GET', `/migrations/${encodeURIComponent(taskId)}`, undefined, options);
  }

  /** `GET /entity-migration?entityRef=…`: the latest migration of a dataset entity, or 404. */
  getEntityMigration(entityRef: string, options?: HonkRequestOptions): Promise<MigrationDetail> {
    return this.#request('GET', `/entity-migration?entityRef=${encodeURIComponent(entityRef)}`, undefined, options);
  }

  /** `POST /migrations`: start one dataset's migration (or a dry run). */
  startMigration(request: StartMigrationRequest, options?: HonkRequestOptions): Promise<StartResponse> {
    return this.#request('POST', '/migrations', request, options);
  }

  /** `POST /migrations/bulk`: start a selection with a window, priority, not-before. */
  startBulk(request: BulkStartRequest, options?: HonkRequestOptions): Promise<StartResponse> {
    return this.#request('POST', '/migrations/bulk', request, options);
  }

  /** `POST /tasks/generate`: a Honk spec for the entities a catalog filter selects; enqueues nothing. */
  generateTasks(request: GenerateTasksRequest, options?: HonkRequestOptions): Promise<GenerateTasksResponse> {
    return this.#request('POST', '/tasks/generate', request, options);
  }

  requeue(taskId: string, options?: HonkRequestOptions): Promise<MigrationSummary> {
    return this.#request('POST', `/migrations/${encodeURIComponent(taskId)}/requeue`, {}, options);
  }

  cancel(taskId: string, options?: HonkRequestOptions): Promise<MigrationSummary> {
    return this.#request('POST', `/migrations/${encodeURIComponent(taskId)}/cancel`, {}, options);
  }

  /** Restores the target snapshot of a succeeded migration. Destructive: confirm first. */
  rollback(taskId: string, options?: HonkRequestOptions): Promise<MigrationSummary> {
    return this.#request('POST', `/migrations/${encodeURIComponent(taskId)}/rollback`, {}, options);
  }

  /** Records who signed off a succeeded migration, and when. */
  signOff(taskId: string, options?: HonkRequestOptions): Promise<MigrationSummary> {
    return this.#request('POST', `/migrations/${encodeURIComponent(taskId)}/sign-off`, {}, options);
  }

  async #request<T>(method: string, path: string, body: unknown, options: HonkRequestOptions = {}): Promise<T> {
    const base = await this.#discovery.getBaseUrl(HONK_PLUGIN_ID);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await this.#fetch(`${base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!response.ok) {
      const error = (parsed as { error?: { name?: string; message?: string } } | undefined)?.error;
      throw new HonkApiError(
        response.status,
        `honk ${method} ${path} failed with ${response.status}: ${error?.message ?? response.statusText}`,
        error?.name,
        parsed,
      );
    }
    return parsed as T;
  }
}
