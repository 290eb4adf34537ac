/**
 * Inside a pool worker: lets a handler retire the thread it runs on. A WebAssembly trap
 * leaves a module instance that cannot be trusted again, and WebAssembly memory never
 * shrinks, so after either the thread should end. The worker stops taking new sessions at
 * once (the pool is told with the reply) and exits when its last session has closed; the
 * pool starts a fresh thread for later work.
 */
let retiring = false;

/** Asks for this worker thread to end once its open sessions are closed. */
export function retireWorker(): void {
  retiring = true;
}

export function isRetiring(): boolean {
  return retiring;
}
