/**
 * A stand-in for KEDA, for tests only: it is not part of Honk and never ships. It lets a
 * test prove how a fleet of real `honk agent` processes behaves under KEDA's `postgresql`
 * trigger without a Kubernetes cluster, by applying KEDA's documented scaling rules to the
 * scaler query (`claimableTasksQuery`) polled against the real task store:
 *
 * - Every `pollingIntervalMs` the query runs; its single number is the metric.
 * - Activation: the scaler is active while metric > `activationTargetQueryValue`. An active
 *   scaler takes a workload at 0 replicas to 1 (KEDA's own step); from there the HPA sizes it.
 * - HPA (metric type AverageValue, what KEDA registers for this trigger): desired =
 *   ceil(metric / `targetQueryValue`), clamped to [max(1, minReplicaCount), maxReplicaCount].
 *   Scale-up applies at once (HPA's default policy, +4 pods or +100 % per 15 s, allows more
 *   than these tests ask for); a scale-down takes the highest recommendation of the last
 *   `scaleDownStabilizationMs` (the HPA's stabilisation window, 300 s by default).
 * - Cooldown: once the scaler has been inactive for `cooldownPeriodMs` after it was last
 *   active, the workload goes to `minReplicaCount` (KEDA's scale to zero, when that is 0).
 * - Scaling down stops a replica with SIGTERM and lets it drain, as Kubernetes does within
 *   the pod's termination grace period (the agent's drain timeout). Kubernetes picks the
 *   victim by its own rules; this stand-in picks the replica running the most tasks, the
 *   hardest case for "nothing is lost".
 *
 * Both control loops run on one tick here (KEDA polls and the HPA syncs on their own timers
 * in a cluster); this changes when a decision is taken, not what it is.
 */

export interface Replica {
  /** Stable name, e.g. the agent id. */
  readonly name: string;
  /** Asks the replica to stop (SIGTERM); resolves with its exit code once it has exited. */
  terminate(): Promise<number | null>;
}

export interface KedaStandInOptions {
  /** Runs the scaler query and returns its value (the trigger's metric). */
  metric: () => Promise<number>;
  /** Starts one replica (a real `honk agent` process). */
  startReplica: (index: number) => Replica;
  /** Tasks running per replica, to choose which replica a scale-down stops (higher first). */
  runningByReplica?: () => Promise<Map<string, number>>;
  targetQueryValue: number;
  activationTargetQueryValue?: number;
  minReplicaCount: number;
  maxReplicaCount: number;
  pollingIntervalMs: number;
  cooldownPeriodMs: number;
  scaleDownStabilizationMs: number;
}

/** One scaling decision the stand-in carried out. */
export interface ScaleEvent {
  atMs: number;
  metric: number;
  from: number;
  to: number;
}

/** A replica stopped by a scale-down, and what it was doing then. */
export interface Termination {
  name: string;
  atMs: number;
  /** Tasks it held a lease on when it got SIGTERM. */
  runningTasks: number;
  exitCode: Promise<number | null>;
}

export class KedaStandIn {
  readonly events: ScaleEvent[] = [];
  readonly terminations: Termination[] = [];
  readonly #options: KedaStandInOptions;
  readonly #replicas: Replica[] = [];
  readonly #recommendations: Array<{ atMs: number; replicas: number }> = [];
  readonly #started = Date.now();
  #lastActiveMs = Number.NEGATIVE_INFINITY;
  #startedCount = 0;
  #timer: NodeJS.Timeout | undefined;
  #tick: Promise<void> = Promise.resolve();
  #stopped = false;
  #error: unknown;

  constructor(options: KedaStandInOptions) {
    this.#options = options;
  }

  get replicas(): number {
    return this.#replicas.length;
  }

  /** Milliseconds since the stand-in was created. */
  elapsedMs(): number {
    return Date.now() - this.#started;
  }

  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      this.#tick = this.#evaluate()
        .catch((error: unknown) => {
          this.#error ??= error;
        })
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(loop, this.#options.pollingIntervalMs);
        });
    };
    loop();
  }

  /** Throws the first error a tick met (a failed query), so a test does not wait in vain. */
  check(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  /** Stops polling; leaves the replicas as they are. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#tick;
  }

  /** Stops every replica still running (test cleanup). */
  async terminateAll(): Promise<void> {
    await Promise.all(this.#replicas.splice(0).map((replica) => replica.terminate()));
  }

  async #evaluate(): Promise<void> {
    const options = this.#options;
    const now = this.elapsedMs();
    const metric = await options.metric();
    const active = metric > (options.activationTargetQueryValue ?? 0);
    if (active) this.#lastActiveMs = now;
    const current = this.#replicas.length;
    let desired: number;
    if (current === 0) {
      desired = active ? 1 : 0;
    } else if (!active && now - this.#lastActiveMs >= options.cooldownPeriodMs) {
      desired = options.minReplicaCount;
    } else {
      const floor = Math.max(1, options.minReplicaCount);
      const recommendation = Math.min(
        options.maxReplicaCount,
        Math.max(floor, Math.ceil(metric / options.targetQueryValue)),
      );
      this.#recommendations.push({ atMs: now, replicas: recommendation });
      while ((this.#recommendations[0]?.atMs ?? now) < now - options.scaleDownStabilizationMs) {
        this.#recommendations.shift();
      }
      const stabilised = Math.max(...this.#recommendations.map((entry) => entry.replicas));
      desired = recommendation >= current ? recommendation : Math.min(current, stabilised);
    }
    if (desired === current) return;
    this.events.push({ atMs: now, metric, from: current, to: desired });
    if (desired > current) {
      for (let index = current; index < desired; index += 1) {
        this.#replicas.push(options.startReplica(this.#startedCount));
        this.#startedCount += 1;
      }
      return;
    }
    const running = (await options.runningByReplica?.()) ?? new Map<string, number>();
    const victims = [...this.#replicas]
      .sort((a, b) => (running.get(b.name) ?? 0) - (running.get(a.name) ?? 0))
      .slice(0, current - desired);
    for (const victim of victims) {
      this.#replicas.splice(this.#replicas.indexOf(victim), 1);
      this.terminations.push({
        name: victim.name,
        atMs: now,
        runningTasks: running.get(victim.name) ?? 0,
        exitCode: victim.terminate(),
      });
    }
  }
}
