import { ChildProcess, execFileSync, spawn, SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

/**
 * Every child the runner starts is registered here and ended by its own pid when the runner
 * ends, however it ends (success, failure, Ctrl-C); temp directories are removed likewise.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export function trackTempDir(dir: string): string {
  tempDirs.add(dir);
  return dir;
}

export function start(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((child) => stop(child)));
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Last resort on a synchronous exit: no waiting is possible, so kill outright. */
export function killAllNow(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

/** Runs a command to completion, collecting its output; rejects on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: SpawnOptions = {},
  timeoutMs = 600_000,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = start(command, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => void stop(child), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${command} exited with ${code ?? signal}: ${(stderr || stdout).trim().split('\n').slice(-3).join(' ')}`,
          ),
        );
    });
  });
}

export { freePort } from '@leasehold/observability';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- CPU accounting from /proc: cumulative utime+stime per process, sampled over a window ----

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function processTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return undefined; // gone
  }
}

export function pidsByName(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/**
 * PostgreSQL's processes split in two: backends connected to `database` (the process title names
 * the database), and the rest: shared background processes and other databases' backends, which
 * on a shared machine includes other people's work.
 */
export function postgresPids(database: string): { postgres: number[]; postgresRest: number[] } {
  const postgres: number[] = [];
  const postgresRest: number[] = [];
  for (const pid of pidsByName('postgres')) {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      (title.includes(` ${database} `) ? postgres : postgresRest).push(pid);
    } catch {
      // exited while we looked
    }
  }
  return { postgres, postgresRest };
}

function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3] + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * CPU used per group of processes (cores = CPU seconds / wall seconds) while running. Sampled
 * every 200 ms so short-lived processes (pgbench's backends) are counted too; a process first seen
 * after the start counts in full, as it was born inside the window.
 */
export class CpuSampler {
  private readonly last = new Map<string, Map<number, number>>();
  private readonly used = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private machineStart = { busy: 0, total: 0 };
  /** Wall seconds from start to the last stop: cores × seconds is CPU seconds. */
  seconds = 0;

  constructor(private readonly groups: () => Record<string, number[]>) {}

  private sample(initial: boolean): void {
    for (const [group, pids] of Object.entries(this.groups())) {
      const seen = this.last.get(group) ?? new Map<number, number>();
      this.last.set(group, seen);
      for (const pid of pids) {
        const ticks = processTicks(pid);
        if (ticks === undefined) continue;
        const before = seen.get(pid) ?? (initial ? ticks : 0);
        this.used.set(group, (this.used.get(group) ?? 0) + (ticks - before));
        seen.set(pid, ticks);
      }
    }
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    this.startedAt = Date.now();
    this.machineStart = machineTicks();
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 200);
  }

  /** Cores used per group, plus `machine`: busy share of all cores times the core count. */
  stop(): Record<string, number> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample(false);
    const seconds = (this.seconds = (Date.now() - this.startedAt) / 1000);
    const result: Record<string, number> = {};
    for (const [group, ticks] of this.used) result[group] = ticks / CLK_TCK / seconds;
    const end = machineTicks();
    const cores = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('processor')).length;
    result.machine = ((end.busy - this.machineStart.busy) / Math.max(1, end.total - this.machineStart.total)) * cores;
    return result;
  }
}
