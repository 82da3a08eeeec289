import { startTestService, TestService, uniqueShare } from '../support/service';

describe('smoke', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(() => service.stop());

  it('creates a share, a directory and a file, writes and reads it, and leases it', async () => {
    const share = service.serviceClient().getShareClient(uniqueShare());
    await share.create();
    const dir = share.getDirectoryClient('dir A');
    await dir.create();
    const file = dir.getFileClient('hello.txt');
    await file.create(11);
    await file.uploadRange(Buffer.from('hello world'), 0, 11);
    const download = await file.download();
    const chunks: Buffer[] = [];
    for await (const chunk of download.readableStreamBody!) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello world');
    const lease = file.getShareLeaseClient();
    const acquired = await lease.acquireLease();
    expect(acquired._response.status).toBe(201);
    const props = await file.getProperties();
    expect(props.leaseState).toBe('leased');
  });
});
