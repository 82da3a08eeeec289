import { ByteRange, NodeEvent } from './node';
import { clipRanges, diffRanges, evolveRanges } from './ranges';

const stamp = { etag: '"x"', at: '2026-01-01T00:00:00.000Z' };
const write = (start: number, end: number): NodeEvent => ({
  type: 'FileRangeWritten',
  data: { ...stamp, start, end, length: end - start + 1, contentMD5: '' },
});
const clear = (start: number, end: number): NodeEvent => ({ type: 'FileRangeCleared', data: { ...stamp, start, end } });
const resize = (contentLength: number): NodeEvent => ({
  type: 'FilePropertiesSet',
  data: { ...stamp, properties: {}, contentLength },
});
const create = (ranges?: ByteRange[]): NodeEvent => ({
  type: 'FileCreated',
  data: {
    ...stamp,
    shareId: '1',
    fileId: '2',
    parentId: '0',
    path: 'f',
    contentLength: 100,
    properties: {},
    metadata: {},
    replaced: false,
    ranges,
  },
});
const fold = (...events: NodeEvent[]) => events.reduce(evolveRanges, []);

describe('written ranges', () => {
  it('a new file has none', () => expect(fold(create())).toEqual([]));
  it('keeps separate writes apart, sorted', () =>
    expect(fold(create(), write(50, 59), write(0, 9))).toEqual([
      { start: 0, end: 9 },
      { start: 50, end: 59 },
    ]));
  it('merges touching and overlapping writes', () => {
    expect(fold(create(), write(0, 9), write(10, 19))).toEqual([{ start: 0, end: 19 }]);
    expect(fold(create(), write(0, 9), write(30, 39), write(5, 34))).toEqual([{ start: 0, end: 39 }]);
  });
  it('a clear removes what it covers and splits a range', () => {
    expect(fold(create(), write(0, 99), clear(10, 19))).toEqual([
      { start: 0, end: 9 },
      { start: 20, end: 99 },
    ]);
    expect(fold(create(), write(0, 9), clear(0, 9))).toEqual([]);
    expect(fold(create(), write(10, 19), clear(0, 14))).toEqual([{ start: 15, end: 19 }]);
  });
  it('a resize down cuts what lies beyond the new end; a resize up adds nothing', () => {
    expect(fold(create(), write(0, 9), write(50, 59), resize(55))).toEqual([
      { start: 0, end: 9 },
      { start: 50, end: 54 },
    ]);
    expect(fold(create(), write(0, 9), resize(1000))).toEqual([{ start: 0, end: 9 }]);
  });
  it('re-creating starts empty; a copy starts from the ranges it carries', () => {
    expect(fold(create(), write(0, 9), create())).toEqual([]);
    expect(fold(create(), write(0, 9), create([{ start: 3, end: 4 }]))).toEqual([{ start: 3, end: 4 }]);
  });
  it('clips to a window', () =>
    expect(
      clipRanges(
        [
          { start: 0, end: 9 },
          { start: 20, end: 29 },
          { start: 40, end: 49 },
        ],
        5,
        25,
      ),
    ).toEqual([
      { start: 5, end: 9 },
      { start: 20, end: 25 },
    ]));
});

describe('diffRanges (List Ranges against a previous snapshot)', () => {
  const diff = (before: NodeEvent[], between: NodeEvent[]) => diffRanges(fold(...before), between);

  it('nothing changed: no ranges, no cleared ranges', () => {
    expect(diff([create(), write(0, 9)], [])).toEqual({ ranges: [], clearRanges: [] });
  });

  it('reports writes since, not the ranges written before', () => {
    expect(diff([create(), write(0, 9)], [write(20, 29), write(30, 39)])).toEqual({
      ranges: [{ start: 20, end: 39 }],
      clearRanges: [],
    });
  });

  it('reports each Clear Range since as cleared, less what was written after it', () => {
    expect(diff([create(), write(0, 9)], [write(20, 29), clear(5, 24)])).toEqual({
      ranges: [{ start: 25, end: 29 }],
      clearRanges: [{ start: 5, end: 24 }],
    });
  });

  it('reports what a resize down cut as cleared', () => {
    expect(diff([create(), write(0, 99)], [resize(50)])).toEqual({
      ranges: [],
      clearRanges: [{ start: 50, end: 99 }],
    });
  });

  it('a cleared range written again is changed, not cleared', () => {
    expect(diff([create(), write(0, 9)], [clear(0, 9), write(0, 4)])).toEqual({
      ranges: [{ start: 0, end: 4 }],
      clearRanges: [{ start: 5, end: 9 }],
    });
  });
});
