/**
 * Loads a value now and again every `intervalMs` (the backend has no event stream, so live
 * status is a poll). A poll runs only after the previous one finished, the last good value
 * stays shown while a later poll fails, polls pause while the page is hidden, and `refresh()`
 * loads at once (after an action).
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface PollState<T> {
  value: T | undefined;
  error: Error | undefined;
  /** True until the first load finished. */
  loading: boolean;
  refresh(): void;
}

/**
 * `key` names what is loaded: when it changes, the old value is dropped and loading starts
 * over (`load` itself may change every render; the latest one is called).
 */
export function usePoll<T>(load: () => Promise<T>, intervalMs: number, key: string): PollState<T> {
  const [state, setState] = useState<{ value: T | undefined; error: Error | undefined; loading: boolean; key: string }>(
    {
      value: undefined,
      error: undefined,
      loading: true,
      key,
    },
  );
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick forces a load
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      if (typeof document !== 'undefined' && document.visibilityState === 'hidden') {
        timer = setTimeout(run, intervalMs);
        return;
      }
      try {
        const value = await loadRef.current();
        if (stopped) return;
        setState({ value, error: undefined, loading: false, key });
      } catch (error) {
        if (stopped) return;
        setState((previous) => ({
          value: previous.key === key ? previous.value : undefined,
          error: error as Error,
          loading: false,
          key,
        }));
      }
      if (!stopped) timer = setTimeout(run, intervalMs);
    };
    run();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [key, intervalMs, tick]);

  const refresh = useCallback(() => setTick((value) => value + 1), []);
  // A value loaded for another key is not shown.
  const current = state.key === key;
  return {
    value: current ? state.value : undefined,
    error: current ? state.error : undefined,
    loading: current ? state.loading : true,
    refresh,
  };
}
