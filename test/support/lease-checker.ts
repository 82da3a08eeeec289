// A history checker for lease outcomes: what clients saw (a ledger of acknowledged answers with
// their real-time intervals) against what the log recorded.

/** One answered request on a file, as the client saw it. */
export interface LeaseOutcome {
  file: string;
  /** acquire (201), break (202) and change (200) create an epoch; write is a Put Range under a lease. */
  op: 'acquire' | 'break' | 'change' | 'release' | 'write';
  /** Client clock (ms) when the request went out and when its answer arrived. */
  start: number;
  end: number;
  status: number;
  /** x-ms-request-id of the answer: finds the event it recorded. */
  requestId: string;
  /** The epoch the answer carried (acquire, break, change), or the epoch of the lease a write used. */
  epoch: number;
}

/** A lease event of the log, in stream order. */
export interface LoggedEpoch {
  file: string;
  streamVersion: number;
  type: string;
  epoch: number;
  requestId: string;
}

const EPOCH_SUCCESS: Record<string, number> = { acquire: 201, break: 202, change: 200 };

const creates = (o: LeaseOutcome) => EPOCH_SUCCESS[o.op] === o.status;

/**
 * Violations of linearizable leases, empty when there are none:
 * - the log's epochs of a file strictly increase with its stream version;
 * - every acknowledged acquire/break/change is in the log with the epoch its answer carried (a
 *   break of a lease already broken records nothing and answers the epoch of that break);
 * - real time: an epoch-creating success that starts after another one ended has a larger epoch;
 * - no two holders at once: a write under the lease of epoch e that starts after a success with a
 *   larger epoch has ended must not succeed (that holder had been replaced).
 */
export function leaseViolations(outcomes: LeaseOutcome[], log: LoggedEpoch[]): string[] {
  const violations: string[] = [];
  const byFile = <T extends { file: string }>(items: T[]) => {
    const groups = new Map<string, T[]>();
    for (const item of items) groups.set(item.file, [...(groups.get(item.file) ?? []), item]);
    return groups;
  };
  for (const [file, events] of byFile(log)) {
    const ordered = [...events].sort((a, b) => a.streamVersion - b.streamVersion);
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i].epoch <= ordered[i - 1].epoch)
        violations.push(
          `${file}: log epoch ${ordered[i].epoch} (v${ordered[i].streamVersion}) after ${ordered[i - 1].epoch}`,
        );
    }
  }
  const logged = new Map(log.map((e) => [e.requestId, e]));
  const brokenAt = new Set(log.filter((e) => e.type === 'LeaseBroken').map((e) => `${e.file}@${e.epoch}`));
  // Breaking a broken lease answers 202 with its epoch and records nothing (Azure's idempotent break).
  const repeatedBreak = (o: LeaseOutcome) =>
    o.op === 'break' && !logged.has(o.requestId) && brokenAt.has(`${o.file}@${o.epoch}`);
  for (const o of outcomes.filter(creates)) {
    const event = logged.get(o.requestId);
    if (repeatedBreak(o)) continue;
    if (!event || event.file !== o.file)
      violations.push(`${o.file}: acknowledged ${o.op} ${o.requestId} (epoch ${o.epoch}) is not in the log`);
    else if (event.epoch !== o.epoch)
      violations.push(`${o.file}: ${o.op} ${o.requestId} answered epoch ${o.epoch}, the log says ${event.epoch}`);
  }
  for (const [file, list] of byFile(outcomes)) {
    // Epoch-creating successes by end time; the largest epoch ended before each start, by binary search.
    const created = list.filter(creates).sort((a, b) => a.end - b.end);
    const maxEpochUpTo: number[] = [];
    created.forEach((o, i) => (maxEpochUpTo[i] = Math.max(o.epoch, i ? maxEpochUpTo[i - 1] : 0)));
    const largestEndedBefore = (t: number) => {
      let lo = 0;
      let hi = created.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (created[mid].end < t) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? 0 : maxEpochUpTo[lo - 1];
    };
    for (const o of list) {
      const before = largestEndedBefore(o.start);
      if (creates(o) && !repeatedBreak(o) && o.epoch <= before)
        violations.push(`${file}: ${o.op} ${o.requestId} got epoch ${o.epoch} after epoch ${before} had been answered`);
      if (o.op === 'write' && o.status === 201 && o.epoch < before)
        violations.push(
          `${file}: write ${o.requestId} under epoch ${o.epoch} succeeded after epoch ${before} had been answered`,
        );
    }
  }
  return violations;
}
