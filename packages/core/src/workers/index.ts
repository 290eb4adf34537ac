export {
  sharedWorkerPool,
  WorkerCrashedError,
  WorkerPool,
  type WorkerPoolOptions,
  WorkerSession,
} from './worker-pool.ts';
