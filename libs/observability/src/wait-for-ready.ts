import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A port nothing listens on now, for a process about to be started on it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const POLL_MS = 100;

/**
 * Resolves once `{url}/_health/ready` (or another probe) answers 200, as an orchestrator would see
 * it; rejects when the process exits first or `timeoutMs` passes, with its last answer.
 */
export async function waitForReady(
  url: string,
  child: ChildProcess,
  timeoutMs = 60_000,
  probe = '/_health/ready',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`exited (${child.signalCode ?? child.exitCode}) before it was ready (${last})`);
    try {
      const response = await fetch(`${url}${probe}`, { signal: AbortSignal.timeout(5000) });
      if (response.status === 200) return;
      last = `${response.status} ${await response.text()}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`not ready within ${timeoutMs} ms (${last})`);
}
