import { chunkEvents, decideChunk, evolveJob, ForceCloseJob, JobEvent } from './force-close-job';

const at = '2026-11-20T14:02:00.000Z';
const submitted: JobEvent = {
  type: 'ForceCloseJobSubmitted',
  data: {
    jobId: 'j',
    idempotencyKey: 'k',
    shareId: '1',
    shareName: 's',
    nodeKey: 'd',
    path: 'D',
    recursive: true,
    handleId: '*',
    requestedBy: 'acct',
    at,
  },
};
const fold = (events: JobEvent[]) => events.reduce<ForceCloseJob | undefined>(evolveJob, undefined)!;

describe('force-close job', () => {
  it('is queued when submitted, running after a chunk, completed after the last', () => {
    const job = fold([submitted]);
    expect(job).toMatchObject({ state: 'queued', chunksDone: 0, closed: 0, version: 1 });
    const afterOne = fold([submitted, ...chunkEvents(job, 1, 1000, { nodeKey: 'd/x', handleId: '7' }, at)]);
    expect(afterOne).toMatchObject({
      state: 'running',
      chunksDone: 1,
      closed: 1000,
      marker: { nodeKey: 'd/x', handleId: '7' },
      startedAt: at,
    });
    const done = fold([
      submitted,
      ...chunkEvents(job, 1, 1000, { nodeKey: 'd/x', handleId: '7' }, at),
      ...chunkEvents(afterOne, 2, 5, undefined, at),
    ]);
    expect(done).toMatchObject({
      state: 'completed',
      chunksDone: 2,
      closed: 1005,
      marker: undefined,
      endedAt: at,
      version: 4,
    });
  });

  it('decides each chunk once: a chunk already recorded is only continued, an ended job does nothing', () => {
    const afterOne = fold([submitted, ...chunkEvents(fold([submitted]), 1, 10, { nodeKey: 'a', handleId: '1' }, at)]);
    expect(decideChunk(afterOne, 1, at)).toEqual({ kind: 'continue' });
    expect(decideChunk(afterOne, 2, at)).toEqual({ kind: 'close' });
    const done = fold([submitted, ...chunkEvents(fold([submitted]), 1, 10, undefined, at)]);
    expect(decideChunk(done, 2, at)).toEqual({ kind: 'nothing' });
  });

  it('stops at the next chunk after a cancel request, keeping what was closed', () => {
    const requested = fold([submitted, { type: 'ForceCloseJobCancelRequested', data: { by: 'acct', at } }]);
    const step = decideChunk(requested, 1, at);
    expect(step.kind).toBe('cancel');
    const cancelled = fold([
      submitted,
      { type: 'ForceCloseJobCancelRequested', data: { by: 'acct', at } },
      ...(step.kind === 'cancel' ? step.events : []),
    ]);
    expect(cancelled).toMatchObject({ state: 'cancelled', closed: 0, endedAt: at });
    expect(decideChunk(cancelled, 1, at)).toEqual({ kind: 'nothing' });
  });

  it('records a failure with its reason', () => {
    expect(fold([submitted, { type: 'ForceCloseJobFailed', data: { error: 'boom', at } }])).toMatchObject({
      state: 'failed',
      error: 'boom',
    });
  });
});
