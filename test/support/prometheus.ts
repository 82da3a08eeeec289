/** One scrape of a /_metrics endpoint, read the way Prometheus reads its text format. */
export interface Scrape {
  /** Sum of the samples of `name` whose labels include `labels`. */
  value(name: string, labels?: Record<string, string>): number;
  /** Every metric family named by a `# TYPE` line, with the series names a histogram adds. */
  names: Set<string>;
  text: string;
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(`${url}/_metrics`);
  if (response.status !== 200) throw new Error(`${url}/_metrics answered ${response.status}`);
  const text = await response.text();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      names.add(type[1]);
      if (type[2] === 'histogram' || type[2] === 'summary')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(type[1] + suffix);
      continue;
    }
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: sample[1], labels, value: Number(sample[3]) });
  }
  const value = (name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((sum, s) => sum + s.value, 0);
  return { value, names, text };
}
