import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The system interpreter: Debian's python3-azure-storage installs the SDK for it. */
const PYTHON = '/usr/bin/python3';

export type PythonAnswer =
  | { ok: true; result: any; status?: number; requestId?: string }
  | { ok: false; status: number; code?: string; message: string; requestId?: string };

/**
 * One call of a method of the SDK's ShareServiceClient, ShareClient, ShareDirectoryClient or
 * ShareFileClient, or of a ShareLeaseClient ('lease') on the file at `path` (on the share without one).
 */
export interface PythonCall {
  client: 'service' | 'share' | 'directory' | 'file' | 'lease';
  path?: string;
  /** For 'lease': the lease id the ShareLeaseClient holds. */
  leaseId?: string;
  method: string;
  /** Its keyword arguments; `data` is sent as Latin-1 bytes, `content_settings` as a ContentSettings. */
  kwargs?: Record<string, unknown>;
  /** Call it on the share snapshot of this name (a ShareClient made with snapshot=). */
  snapshot?: string;
}

export type PythonResult = { ok: any } | { error: { status: number; code?: string; message: string } };

/**
 * One Python process running test/support/python/driver.py, which calls Leasehold through the
 * official Python SDK: a test file starts one and sends it every call, instead of paying an
 * interpreter start per call.
 */
export class PythonSdk {
  private readonly process: ChildProcessWithoutNullStreams;
  private readonly pending = new Map<number, (answer: PythonAnswer) => void>();
  private next = 0;
  private stderr = '';

  constructor(baseUrl: string) {
    this.process = spawn(PYTHON, [`${__dirname}/python/driver.py`, baseUrl]);
    this.process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.process.stdout }).on('line', (line) => {
      const { id, ...answer } = JSON.parse(line);
      this.pending.get(id)?.(answer);
      this.pending.delete(id);
    });
    this.process.on('exit', () => {
      for (const fail of this.pending.values()) fail(this.exited());
      this.pending.clear();
    });
  }

  /** The SDK call's answer, successful or not. */
  call(op: string, args: Record<string, unknown>): Promise<PythonAnswer> {
    const id = this.next++;
    if (this.process.exitCode !== null) return Promise.resolve(this.exited());
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.process.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** The result of a call that must succeed (and its request id). */
  async ok(op: string, args: Record<string, unknown>): Promise<{ result: any; requestId?: string }> {
    const answer = await this.call(op, args);
    if (!answer.ok) throw new Error(`${op} failed: ${answer.status} ${answer.code} ${answer.message}`);
    return answer;
  }

  /**
   * Calls in order on clients of one share, with the account's key: one answer each (with the
   * request id, to find its events), a refusal by the service does not stop the next. A call the SDK
   * itself refuses (status 0) fails the batch.
   */
  async answers(target: { account: string; key: string; share: string }, calls: PythonCall[]): Promise<PythonAnswer[]> {
    const answers: PythonAnswer[] = [];
    for (const call of calls) {
      const answer = await this.call('call', { ...target, ...call });
      if (!answer.ok && answer.status === 0) throw new Error(`${call.method}: ${answer.code} ${answer.message}`);
      answers.push(answer);
    }
    return answers;
  }

  /** As answers(), each reduced to its result or its refusal. */
  async batch(target: { account: string; key: string; share: string }, calls: PythonCall[]): Promise<PythonResult[]> {
    return (await this.answers(target, calls)).map((answer) =>
      answer.ok
        ? { ok: answer.result }
        : { error: { status: answer.status, code: answer.code, message: answer.message } },
    );
  }

  private exited(): PythonAnswer {
    return { ok: false, status: 0, message: `python exited: ${this.stderr}` };
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.process.exitCode !== null) return resolve();
      this.process.once('exit', () => resolve());
      this.process.stdin.end();
    });
  }
}
