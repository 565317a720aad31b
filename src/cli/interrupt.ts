/**
 * The command line's Ctrl-C: the first signal asks the work in hand to stop
 * (it finishes what it can and reports), the second quits at once with exit
 * status 130. Trace runs, sweeps and queue workers all stop this way.
 */

/** Listen for `signals`; `say` is written to stderr at the first. `release()` stops listening. */
export function interruptible(signals: readonly NodeJS.Signals[], say?: string): { signal: AbortSignal; release(): void } {
  const ac = new AbortController();
  const onSignal = (): void => {
    if (ac.signal.aborted) process.exit(130);
    if (say) process.stderr.write(say);
    ac.abort();
  };
  for (const s of signals) process.on(s, onSignal);
  return { signal: ac.signal, release: () => { for (const s of signals) process.off(s, onSignal); } };
}
