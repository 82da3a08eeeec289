import { figure, parseRows, renderTable, replaceSection, SECTION_END, SECTION_START, withRatios } from './summary';

describe('bench summary', () => {
  const row = withRatios({
    bench: 'lease',
    scenario: 'acquire+release, 64 clients',
    throughput: 1500,
    unit: 'ops/s',
    p50Ms: 12.345,
    p99Ms: 80,
    baselines: [
      { name: 'pgbench -M prepared', throughput: 3000, p50Ms: 4, p99Ms: 20 },
      { name: 'etcd', throughput: 0 },
    ],
    cpuMsPerOp: 0.2914,
    cpuProcess: 'API',
    walBytesPerOp: 1234.5,
    peakRssMiB: 182.4,
  });

  it('gives each baseline the ratio of the throughputs, and none for a baseline without a rate', () => {
    expect(row.baselines.map((b) => b.ratio)).toEqual([0.5, null]);
  });

  it('renders one line per row, absent figures as –, baselines with their ratio, rate and latency', () => {
    const table = renderTable([
      row,
      withRatios({ bench: 'audit', scenario: 'a | b', throughput: 123456.7, unit: 'events/s' }),
    ]);
    const [, , lease, audit] = table.split('\n');
    expect(lease).toBe(
      '| lease | acquire+release, 64 clients | 1,500 ops/s | 12.3 | 80 | 0.5× pgbench -M prepared (3,000, 4 / 20); – etcd (0) | 0.291 (API) | – | 1,235 | 182 |  |',
    );
    expect(audit).toBe('| audit | a \\| b | 123,457 events/s | – | – | – | – | – | – | – |  |');
  });

  it('reads back what was written, and names the line that is not a row', () => {
    const text = `${JSON.stringify(row)}\n\n${JSON.stringify({ ...row, scenario: 'second' })}\n`;
    expect(parseRows(text).map((r) => r.scenario)).toEqual([row.scenario, 'second']);
    expect(() => parseRows(`${JSON.stringify(row)}\n{"bench":"x"}`)).toThrow('line 2: not a result row');
    expect(() => parseRows('oops')).toThrow('line 1: not JSON');
  });

  it('formats small figures to three significant digits and JSON nulls as –', () => {
    expect([0.008812, 0, 99.96, null, NaN].map(figure)).toEqual(['0.00881', '0', '100', '–', '–']);
  });

  it('replaces only the text between the markers, and refuses a document without exactly one pair', () => {
    const doc = `before\n${SECTION_START}\nold table\n${SECTION_END}\nafter\n`;
    expect(replaceSection(doc, 'new table\n')).toBe(`before\n${SECTION_START}\n\nnew table\n\n${SECTION_END}\nafter\n`);
    expect(() => replaceSection('no markers', 'x')).toThrow();
    expect(() => replaceSection(`${SECTION_END}\n${SECTION_START}`, 'x')).toThrow();
    expect(() => replaceSection(`${doc}${SECTION_START}`, 'x')).toThrow();
  });
});
