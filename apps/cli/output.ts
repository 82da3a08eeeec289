import Table from 'cli-table3';

export interface OutputOptions {
  json?: boolean;
}

/** What a table cell or a record's value can be: the scalars of the service's XML and JSON answers. */
export type Cell = string | number | boolean | null | undefined;

/** Rows as a table for a person, or as JSON with `--json` for a script. */
export function print<T extends object>(
  rows: T[],
  columns: Array<[header: string, cell: (row: T) => Cell]>,
  options: OutputOptions,
): void {
  if (options.json) return console.log(JSON.stringify(rows, null, 2));
  if (rows.length === 0) return console.log('(none)');
  const table = new Table({ head: columns.map(([header]) => header), style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map(([, cell]) => String(cell(row) ?? '')));
  console.log(table.toString());
}

/** One object: key/value lines, or JSON. */
export function printRecord(record: Record<string, Cell>, options: OutputOptions): void {
  if (options.json) return console.log(JSON.stringify(record, null, 2));
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  for (const [key, value] of Object.entries(record))
    if (value !== undefined && value !== '') console.log(`${key.padEnd(width)}  ${value}`);
}

/**
 * One record of a stream as one line: the first `bare` values as they are, the rest as key=value
 * (empty ones left out); or the record as one line of JSON (NDJSON) with `--json`.
 */
export function printLine(record: object, options: OutputOptions, bare = 0): void {
  if (options.json) return console.log(JSON.stringify(record));
  const parts = Object.entries(record as Record<string, Cell>)
    .map(([key, value], i) => (value === undefined || value === '' ? '' : i < bare ? String(value) : `${key}=${value}`))
    .filter((part) => part !== '');
  console.log(parts.join('  '));
}
