/**
 * The result rows every bench emits (through `emitRow` in common.ts) and the one table
 * `npm run bench` (bench/all.ts) renders from them. Pure: no I/O, so it is unit-tested alone.
 */

export interface BaselineFigure {
  name: string;
  throughput: number;
  p50Ms?: number;
  p99Ms?: number;
}

/** What a bench reports for one scenario; `ratio` of each baseline is filled in by `withRatios`. */
export interface RowInput {
  bench: string;
  scenario: string;
  throughput: number;
  /** e.g. `ops/s`, `events/s`: what one op is for the CPU column. */
  unit: string;
  p50Ms?: number;
  p99Ms?: number;
  baselines?: BaselineFigure[];
  /** CPU (user + system) of the measured Leasehold process per op, and which process that is. */
  cpuMsPerOp?: number;
  cpuProcess?: string;
  /** CPU of the PostgreSQL backends serving the bench database per op, where the bench measures it. */
  dbCpuMsPerOp?: number;
  /** WAL bytes PostgreSQL wrote per op, where the bench measures it on a cluster of its own. */
  walBytesPerOp?: number;
  /** Peak resident set (VmHWM) of the same process over the scenario, MiB. */
  peakRssMiB?: number;
  /** Outcomes that qualify the figures (lost leases, failed requests, deliveries). */
  notes?: string;
}

export interface ResultRow extends Omit<RowInput, 'baselines'> {
  baselines: (BaselineFigure & { ratio: number | null })[];
}

const finite = (n: number | undefined): n is number => typeof n === 'number' && Number.isFinite(n);

/** Leasehold's throughput over each baseline's; none when the baseline has no usable figure. */
export function withRatios(input: RowInput): ResultRow {
  return {
    ...input,
    baselines: (input.baselines ?? []).map((b) => ({
      ...b,
      ratio:
        finite(b.throughput) && b.throughput > 0 && finite(input.throughput) ? input.throughput / b.throughput : null,
    })),
  };
}

/** The rows of a JSON-lines file; a line that is not a row names its line number. */
export function parseRows(text: string): ResultRow[] {
  return text
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line !== '')
    .map(([line, number]) => {
      let row: ResultRow;
      try {
        row = JSON.parse(line) as ResultRow;
      } catch {
        throw new Error(`result rows, line ${number}: not JSON`);
      }
      if (typeof row.bench !== 'string' || typeof row.scenario !== 'string' || !Array.isArray(row.baselines))
        throw new Error(`result rows, line ${number}: not a result row`);
      return row;
    });
}

/** Three significant digits below 100, whole numbers with thousands separators above; '–' when absent. */
export function figure(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (n === 0) return '0';
  return Number(n.toPrecision(3)).toString();
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderTable(rows: ResultRow[]): string {
  const lines = [
    '| bench | scenario | throughput | p50 ms | p99 ms | vs baseline (its throughput, p50 / p99 ms) | CPU ms/op (process) | PostgreSQL CPU ms/op | WAL bytes/op | peak RSS MiB | notes |',
    '| --- | --- | --: | --: | --: | --- | --: | --: | --: | --: | --- |',
  ];
  for (const r of rows) {
    const baselines =
      r.baselines
        .map((b) => {
          const latency =
            b.p50Ms !== undefined || b.p99Ms !== undefined ? `, ${figure(b.p50Ms)} / ${figure(b.p99Ms)}` : '';
          return `${b.ratio === null ? '–' : `${figure(b.ratio)}×`} ${b.name} (${figure(b.throughput)}${latency})`;
        })
        .join('; ') || '–';
    const cpu = finite(r.cpuMsPerOp) ? `${figure(r.cpuMsPerOp)}${r.cpuProcess ? ` (${r.cpuProcess})` : ''}` : '–';
    lines.push(
      `| ${[
        r.bench,
        r.scenario,
        `${figure(r.throughput)} ${r.unit}`,
        figure(r.p50Ms),
        figure(r.p99Ms),
        baselines,
        cpu,
        figure(r.dbCpuMsPerOp),
        figure(r.walBytesPerOp),
        figure(r.peakRssMiB),
        r.notes ?? '',
      ]
        .map(cell)
        .join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

export const SECTION_START = '<!-- npm run bench: start -->';
export const SECTION_END = '<!-- npm run bench: end -->';

/** The document with the text between the two markers replaced; the markers must be there, once each. */
export function replaceSection(document: string, content: string): string {
  const start = document.indexOf(SECTION_START);
  const end = document.indexOf(SECTION_END);
  if (
    start < 0 ||
    end < start ||
    document.indexOf(SECTION_START, start + 1) >= 0 ||
    document.indexOf(SECTION_END, end + 1) >= 0
  )
    throw new Error(`expected one "${SECTION_START}" followed by one "${SECTION_END}"`);
  return `${document.slice(0, start + SECTION_START.length)}\n\n${content.trim()}\n\n${document.slice(end)}`;
}
