import type { ByteRange, NodeEvent } from './node';

/** `ranges` (sorted, disjoint, not touching) without [start, end]. */
function cut(ranges: ByteRange[], start: number, end: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) {
    if (r.end < start || r.start > end) out.push(r);
    else {
      if (r.start < start) out.push({ start: r.start, end: start - 1 });
      if (r.end > end) out.push({ start: end + 1, end: r.end });
    }
  }
  return out;
}

/** `ranges` with [start, end] added, merged with every range it overlaps or touches. */
function add(ranges: ByteRange[], start: number, end: number): ByteRange[] {
  const out: ByteRange[] = [];
  let merged = { start, end };
  for (const r of ranges) {
    if (r.end + 1 < merged.start || r.start > merged.end + 1) out.push(r);
    else merged = { start: Math.min(r.start, merged.start), end: Math.max(r.end, merged.end) };
  }
  out.push(merged);
  return out.sort((a, b) => a.start - b.start);
}

/**
 * The written ranges of a file (what List Ranges answers), folded from its events: a write adds
 * its range, a clear removes it, a resize down cuts what lies beyond, a (re)creation starts empty
 * and a copy starts from the source's ranges. Bytes are not looked at: a range written with zeros
 * is still a written range, as in Azure.
 */
export function evolveRanges(ranges: ByteRange[], event: NodeEvent): ByteRange[] {
  switch (event.type) {
    case 'FileCreated':
      return event.data.ranges ?? [];
    case 'FileRangeWritten':
      return add(ranges, event.data.start, event.data.end);
    case 'FileRangeCleared':
      return cut(ranges, event.data.start, event.data.end);
    case 'FilePropertiesSet':
      return cut(ranges, event.data.contentLength, Number.MAX_SAFE_INTEGER);
    default:
      return ranges;
  }
}

/** The parts of `ranges` inside [start, end]. */
export function clipRanges(ranges: ByteRange[], start: number, end: number): ByteRange[] {
  return ranges
    .filter((r) => r.end >= start && r.start <= end)
    .map((r) => ({ start: Math.max(r.start, start), end: Math.min(r.end, end) }));
}
