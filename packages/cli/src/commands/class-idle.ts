/**
 * `honk agent --exit-when-idle` (the agents of a KEDA ScaledJob): the agent ends once it runs
 * nothing and its class has nothing left to claim, measured the way the scaler counts
 * (`measureBacklog`). Two idle checks in a row are required, so a task released or retried
 * between two claims is not mistaken for an empty queue.
 */
import { type Agent, type BacklogFilter, measureBacklog, type TaskStore } from '@honk/core';

/** Resolves with `'idle'` once `agent` runs nothing and `filter`'s class has nothing claimable, twice in a row. */
export async function whenClassIdle(
  agent: Agent,
  store: TaskStore,
  filter: BacklogFilter,
  pollMs: number,
): Promise<'idle'> {
  let idleChecks = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    if (!agent.running) continue;
    const idle = agent.inFlight().length === 0 && (await measureBacklog(store, filter)).claimable === 0;
    idleChecks = idle ? idleChecks + 1 : 0;
    if (idleChecks >= 2) return 'idle';
  }
}
