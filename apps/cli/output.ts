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
