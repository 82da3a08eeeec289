import { SseParser } from './sse';

describe('SseParser', () => {
  it('keeps a block without data (the opening cursor, a heartbeat) with its id', () => {
    const parser = new SseParser();
    expect(parser.feed('retry: 1000\nid: c0\n\nid: c1\n: heartbeat\n\n')).toEqual([
      { id: 'c0' },
      { id: 'c1', comment: 'heartbeat' },
    ]);
  });

  it('parses a block split across chunks only once it is complete, and joins data lines', () => {
    const parser = new SseParser();
    expect(parser.feed('id: c2\nda')).toEqual([]);
    expect(parser.feed('ta: {"a":\ndata: 1}\n')).toEqual([]);
    expect(parser.feed('\nevent: resume\nid: c3\ndata:x\n\n')).toEqual([
      { id: 'c2', data: '{"a":\n1}' },
      { event: 'resume', id: 'c3', data: 'x' },
    ]);
  });
});
