// Waiting on shared work with a caller's AbortSignal: the caller stops
// waiting when it aborts, the work itself goes on for whoever else waits.

/** Settles with `promise`, or rejects as soon as `signal` aborts: with its reason, or `fallback()` when that is not an Error. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, fallback: () => Error): Promise<T> {
  if (signal === undefined) return promise;
  const reason = (): Error => (signal.reason instanceof Error ? signal.reason : fallback());
  if (signal.aborted) return Promise.reject(reason());
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(reason());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
