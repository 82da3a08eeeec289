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

/**
 * List Ranges against a previous snapshot: `before` is the file's written ranges at the previous
 * snapshot, `between` its events since, up to now (or to the later snapshot). Each write since is
 * a changed range and each Clear Range a cleared one, the later winning where they overlap; a
 * resize down clears what held data beyond the new end.
 */
export function diffRanges(
  before: ByteRange[],
  between: NodeEvent[],
): { ranges: ByteRange[]; clearRanges: ByteRange[] } {
  let ranges: ByteRange[] = [];
  let clearRanges: ByteRange[] = [];
  let held = before;
  for (const e of between) {
    if (e.type === 'FileRangeWritten') {
      ranges = add(ranges, e.data.start, e.data.end);
      clearRanges = cut(clearRanges, e.data.start, e.data.end);
    } else if (e.type === 'FileRangeCleared') {
      clearRanges = add(clearRanges, e.data.start, e.data.end);
      ranges = cut(ranges, e.data.start, e.data.end);
    } else if (e.type === 'FilePropertiesSet') {
      const end = e.data.contentLength;
      for (const r of held) if (r.end >= end) clearRanges = add(clearRanges, Math.max(r.start, end), r.end);
      ranges = cut(ranges, end, Number.MAX_SAFE_INTEGER);
    }
    held = evolveRanges(held, e);
  }
  return { ranges, clearRanges };
}
