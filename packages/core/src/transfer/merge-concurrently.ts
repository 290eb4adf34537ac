/**
 * Reads several async iterables at once (the partitions or streams of one source: key
 * ranges over PostgreSQL connections, BigQuery read streams) and yields their items as they
 * come. At most `capacity` items wait (each producer pauses while the buffer is full, which
 * pauses its network stream), so memory is bounded by the number of sources, not the data.
 * The first failure ends everything; `stop` releases producers stuck mid-read.
 */
export async function* mergeConcurrently<T>(
  sources: ReadonlyArray<AsyncIterable<T>>,
  capacity: number,
  stop: () => void,
): AsyncGenerator<T> {
  const buffer: T[] = [];
  const iterators = sources.map((source) => source[Symbol.asyncIterator]());
  let active = iterators.length;
  let failed = false;
  let failure: unknown;
  let stopped = false;
  let wakeConsumer: (() => void) | undefined;
  const waitingProducers: Array<() => void> = [];
  const wake = () => {
    const resolve = wakeConsumer;
    wakeConsumer = undefined;
    resolve?.();
  };
  const produce = async (iterator: AsyncIterator<T>) => {
    try {
      while (!stopped) {
        while (buffer.length >= capacity && !stopped)
          await new Promise<void>((resolve) => waitingProducers.push(resolve));
        if (stopped) return;
        const next = await iterator.next();
        if (next.done || stopped) return;
        buffer.push(next.value);
        wake();
      }
    } catch (error) {
      if (!failed && !stopped) {
        failed = true;
        failure = error;
      }
    } finally {
      active--;
      wake();
    }
  };
  const running = iterators.map(produce);
  let complete = false;
  try {
    while (true) {
      if (failed) throw failure;
      if (buffer.length > 0) {
        const item = buffer.shift() as T;
        waitingProducers.shift()?.();
        yield item;
        continue;
      }
      if (active === 0) break;
      await new Promise<void>((resolve) => {
        wakeConsumer = resolve;
      });
    }
    complete = true;
  } finally {
    stopped = true;
    buffer.length = 0;
    for (const resolve of waitingProducers.splice(0)) resolve();
    if (!complete) stop();
    await Promise.all(running);
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}
