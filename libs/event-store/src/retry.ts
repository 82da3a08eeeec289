import { concurrencyRetries } from '@leasehold/observability';
import { ConcurrencyError } from './errors';

/**
 * Runs a read-decide-append cycle until it appends without a conflict. Each try re-reads the
 * state, so a loser of a race decides again against the winner's result.
 */
export async function retryOnConcurrency<T>(work: () => Promise<T>, attempts = 25): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= attempts) throw error;
      concurrencyRetries.inc();
      // Jitter spreads the retries of many writers contending for one stream.
      if (attempt > 2) await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt * 2));
    }
  }
}
