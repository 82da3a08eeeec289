import { createHash } from 'node:crypto';
import { ShareClient, ShareDirectoryClient, ShareFileClient, ShareServiceClient } from '@azure/storage-file-share';
import { onlyEvent, refusedBySdk } from '../support/recorded';
import { startTestService, TestService, uniqueShare } from '../support/service';

const ACCOUNT = 'devstoreaccount1';
const MiB = 1024 * 1024;

describe('shares, directories and files through the SDK', () => {
  let service: TestService;
  let client: ShareServiceClient;

  beforeAll(async () => {
    service = await startTestService();
    client = service.serviceClient();
  });
  afterAll(() => service.stop());

  const theEvent = (response: { requestId?: string }, type: string) => onlyEvent(service.db, response, type);

  const refused = (call: Promise<unknown>, status: number, code: string, options: { head?: boolean } = {}) =>
    refusedBySdk(service.db, call, status, code, options);

  const newShare = async (): Promise<ShareClient> => {
    const share = client.getShareClient(uniqueShare('fs'));
    await share.create();
    return share;
  };

  const readAll = async (stream: NodeJS.ReadableStream | undefined): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream!) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  };

  const contentOf = async (file: ShareFileClient): Promise<Buffer> =>
    readAll((await file.download()).readableStreamBody);

  /**
   * Last-Modified has one-second resolution, so two writes in one second cannot differ in it:
   * wait for the (shared, in-process) clock to reach the next second before the next write.
   */
  const nextSecond = () => new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));

  describe('shares', () => {
    it('creates a share, reads its properties, and refuses a second create', async () => {
      const name = uniqueShare('fs');
      const share = client.getShareClient(name);
      expect(await share.exists()).toBe(false);

      const created = await share.create({ metadata: { Owner: 'me' }, quota: 10 });
      expect(created._response.status).toBe(201);
      expect(created.etag).toMatch(/^"0x8[0-9A-F]+"$/);
      expect(created.lastModified).toBeInstanceOf(Date);
      const event = await theEvent(created, 'ShareCreated');
      expect(event.data).toMatchObject({ name, quota: 10, metadata: { Owner: 'me' } });

      // The SDK drops _response here; it raises on any status but 200 (docs/wire-format.md, Responses).
      const props = await share.getProperties();
      expect(props.etag).toBe(created.etag);
      expect(props.lastModified).toEqual(created.lastModified);
      expect(props.quota).toBe(10);
      expect(props.metadata).toEqual({ owner: 'me' });
      expect(await share.exists()).toBe(true);

      await refused(share.create(), 409, 'ShareAlreadyExists');
      const again = await share.createIfNotExists();
      expect(again.succeeded).toBe(false);
      expect(again.errorCode).toBe('ShareAlreadyExists');
    });

    it('creates with createIfNotExists when the share is missing (default quota), and deletes with deleteIfExists', async () => {
      const share = client.getShareClient(uniqueShare('fs'));
      const result = await share.createIfNotExists();
      expect(result.succeeded).toBe(true);
      await theEvent(result, 'ShareCreated');
      expect((await share.getProperties()).quota).toBe(102400);
      const deleted = await share.deleteIfExists();
      expect(deleted.succeeded).toBe(true);
      await theEvent(deleted, 'ShareDeleted');
      expect(await share.exists()).toBe(false);
    });

    it('deletes a share with everything in it; afterwards it is gone and a new one of that name is empty', async () => {
      const share = await newShare();
      await share.getDirectoryClient('d').create();
      const file = share.getDirectoryClient('d').getFileClient('f.txt');
      await file.create(3);
      await file.uploadRange(Buffer.from('abc'), 0, 3);

      const deleted = await share.delete();
      expect(deleted._response.status).toBe(202);
      expect((await theEvent(deleted, 'ShareDeleted')).data).toMatchObject({ name: share.name });
      expect(await share.exists()).toBe(false);
      await refused(share.getProperties(), 404, 'ShareNotFound');
      await refused(share.delete(), 404, 'ShareNotFound');
      await refused(share.getDirectoryClient('d').getProperties(), 404, 'ShareNotFound');
      const ifExists = await share.deleteIfExists();
      expect(ifExists.succeeded).toBe(false);
      expect(ifExists.errorCode).toBe('ShareNotFound');

      await share.create();
      const listed = [];
      for await (const item of share.rootDirectoryClient.listFilesAndDirectories()) listed.push(item.name);
      expect(listed).toEqual([]);
      await refused(file.getProperties(), 404, 'ParentNotFound', { head: true });
    });
  });

  describe('directories', () => {
    let share: ShareClient;
    beforeAll(async () => {
      share = await newShare();
    });

    it('creates a directory with metadata and reads it back', async () => {
      const dir = share.getDirectoryClient('docs');
      const created = await dir.create({ metadata: { Team: 'blue', a_1: 'x' } });
      expect(created._response.status).toBe(201);
      expect(created.etag).toMatch(/^"0x8[0-9A-F]+"$/);
      expect(created.fileId).toEqual(expect.any(String));
      expect((await theEvent(created, 'DirectoryCreated')).data).toMatchObject({
        path: 'docs',
        metadata: { Team: 'blue', a_1: 'x' },
      });

      const props = await dir.getProperties();
      expect(props._response.status).toBe(200);
      expect(props.etag).toBe(created.etag);
      expect(props.lastModified).toEqual(created.lastModified);
      expect(props.fileId).toBe(created.fileId);
      expect(props.metadata).toEqual({ team: 'blue', a_1: 'x' });
      expect(await dir.exists()).toBe(true);
    });

    it('refuses a directory whose parent is missing, and one that exists', async () => {
      await refused(share.getDirectoryClient('missing/child').create(), 404, 'ParentNotFound');
      const dir = share.getDirectoryClient('once');
      await dir.create();
      await refused(dir.create(), 409, 'ResourceAlreadyExists');
      const again = await dir.createIfNotExists();
      expect(again.succeeded).toBe(false);
      expect(again.errorCode).toBe('ResourceAlreadyExists');

      const fresh = await share.getDirectoryClient('once/inner').createIfNotExists();
      expect(fresh.succeeded).toBe(true);
      expect(fresh._response.status).toBe(201);
      await theEvent(fresh, 'DirectoryCreated');
    });

    it('sets metadata (replacing it) and properties', async () => {
      const dir = share.getDirectoryClient('meta');
      await dir.create({ metadata: { old: '1' } });
      const set = await dir.setMetadata({ fresh: '2' });
      expect(set._response.status).toBe(200);
      expect((await theEvent(set, 'DirectoryMetadataSet')).data).toMatchObject({ metadata: { fresh: '2' } });
      expect((await dir.getProperties()).metadata).toEqual({ fresh: '2' });

      const props = await dir.setProperties();
      expect(props._response.status).toBe(200);
      await theEvent(props, 'DirectoryPropertiesSet');
      expect((await dir.getProperties()).etag).toBe(props.etag);
    });

    it('changes ETag and Last-Modified on every write', async () => {
      const dir = share.getDirectoryClient('stamps');
      const writes: (() => Promise<{ etag?: string }>)[] = [
        () => dir.create(),
        () => dir.setMetadata({ k: 'v' }),
        () => dir.setProperties(),
      ];
      const stamps: { etag?: string; lastModified?: Date }[] = [];
      for (const write of writes) {
        if (stamps.length) await nextSecond();
        const result = await write();
        // Set Directory Metadata answers without Last-Modified (the SDK does not read one), so take it from Get Properties.
        const props = await dir.getProperties();
        expect(props.etag).toBe(result.etag);
        stamps.push(props);
      }
      expect(new Set(stamps.map((s) => s.etag)).size).toBe(writes.length);
      for (let i = 1; i < stamps.length; i++)
        expect(stamps[i].lastModified!.getTime()).toBeGreaterThan(stamps[i - 1].lastModified!.getTime());
    });

    it('refuses to delete a directory that is not empty; deletes it once empty', async () => {
      const parent = share.getDirectoryClient('full');
      await parent.create();
      const child = parent.getDirectoryClient('child');
      await child.create();
      await refused(parent.delete(), 409, 'DirectoryNotEmpty');

      const file = parent.getFileClient('f');
      await child.delete();
      await file.create(1);
      await refused(parent.delete(), 409, 'DirectoryNotEmpty');
      await file.delete();

      const deleted = await parent.delete();
      expect(deleted._response.status).toBe(202);
      expect((await theEvent(deleted, 'DirectoryDeleted')).data).toMatchObject({ path: 'full' });
      expect(await parent.exists()).toBe(false);
      await refused(parent.getProperties(), 404, 'ResourceNotFound');
      await refused(parent.delete(), 404, 'ResourceNotFound');
      await refused(child.getProperties(), 404, 'ParentNotFound');
    });

    it('deletes with deleteIfExists both ways', async () => {
      const dir = share.getDirectoryClient('maybe');
      await dir.create();
      const first = await dir.deleteIfExists();
      expect(first.succeeded).toBe(true);
      await theEvent(first, 'DirectoryDeleted');
      const second = await dir.deleteIfExists();
      expect(second.succeeded).toBe(false);
      expect(second.errorCode).toBe('ResourceNotFound');
      const orphan = await dir.getDirectoryClient('x').deleteIfExists();
      expect(orphan.succeeded).toBe(false);
      expect(orphan.errorCode).toBe('ParentNotFound');
    });

    it('reads the share root as a directory', async () => {
      const root = await share.rootDirectoryClient.getProperties();
      expect(root._response.status).toBe(200);
      expect(root.etag).toEqual(expect.any(String));
    });
  });

  describe('List Directories and Files', () => {
    let share: ShareClient;
    const dirs = ['alpha', 'Bravo', 'charlie', 'delta'];
    const files = ['apple.txt', 'banana.txt', 'Cherry.txt', 'alpine.bin', 'echo'];
    const sizes: Record<string, number> = {
      'apple.txt': 5,
      'banana.txt': 0,
      'Cherry.txt': 1234,
      'alpine.bin': 7,
      echo: 1,
    };

    beforeAll(async () => {
      share = await newShare();
      const root = share.rootDirectoryClient;
      for (const d of dirs) await root.getDirectoryClient(d).create();
      for (const f of files) await root.getFileClient(f).create(sizes[f]);
      // Deeper entries are not children of the root and must not be listed there.
      await root.getDirectoryClient('alpha/nested').create();
      await root.getFileClient('alpha/inner.txt').create(3);
    });

    it('pages through the root two entries at a time: every entry exactly once, nothing more', async () => {
      const seen: string[] = [];
      let pages = 0;
      let lastToken: string | undefined = 'none yet';
      for await (const page of share.rootDirectoryClient.listFilesAndDirectories().byPage({ maxPageSize: 2 })) {
        pages++;
        expect(page._response.status).toBe(200);
        const entries = [
          ...page.segment.directoryItems.map((d) => d.name),
          ...page.segment.fileItems.map((f) => f.name),
        ];
        expect(entries.length).toBeGreaterThan(0);
        expect(entries.length).toBeLessThanOrEqual(2);
        seen.push(...entries);
        for (const f of page.segment.fileItems) expect(f.properties.contentLength).toBe(sizes[f.name]);
        lastToken = page.continuationToken;
      }
      expect(pages).toBe(Math.ceil((dirs.length + files.length) / 2));
      expect(lastToken).toBeFalsy();
      expect(seen).toHaveLength(dirs.length + files.length);
      expect(new Set(seen).size).toBe(seen.length);
      expect([...seen].sort()).toEqual([...dirs, ...files].sort());
    });

    it('lists everything in one page by default and tells directories from files', async () => {
      const items: { kind: string; name: string }[] = [];
      for await (const item of share.rootDirectoryClient.listFilesAndDirectories())
        items.push({ kind: item.kind, name: item.name });
      expect(
        items
          .filter((i) => i.kind === 'directory')
          .map((i) => i.name)
          .sort(),
      ).toEqual([...dirs].sort());
      expect(
        items
          .filter((i) => i.kind === 'file')
          .map((i) => i.name)
          .sort(),
      ).toEqual([...files].sort());
    });

    it('filters by prefix, also across pages', async () => {
      const names: string[] = [];
      for await (const page of share.rootDirectoryClient
        .listFilesAndDirectories({ prefix: 'al' })
        .byPage({ maxPageSize: 1 })) {
        names.push(...page.segment.directoryItems.map((d) => d.name), ...page.segment.fileItems.map((f) => f.name));
        expect(page.prefix).toBe('al');
      }
      expect(names.sort()).toEqual(['alpha', 'alpine.bin']);
    });

    it('lists a subdirectory', async () => {
      const items: string[] = [];
      for await (const item of share.getDirectoryClient('alpha').listFilesAndDirectories())
        items.push(`${item.kind}:${item.name}`);
      expect(items.sort()).toEqual(['directory:nested', 'file:inner.txt']);
    });

    it('refuses to list a directory that does not exist', async () => {
      await refused(share.getDirectoryClient('nope').listFilesAndDirectories().next(), 404, 'ResourceNotFound');
    });
  });

  describe('files', () => {
    let share: ShareClient;
    let dir: ShareDirectoryClient;
    beforeAll(async () => {
      share = await newShare();
      dir = share.getDirectoryClient('files');
      await dir.create();
    });

    it('creates a file with metadata and HTTP headers, and reads its properties', async () => {
      const file = dir.getFileClient('report.txt');
      const md5 = createHash('md5').update('whatever').digest();
      const created = await file.create(11, {
        metadata: { Owner: 'alice', kind: 'report' },
        fileHttpHeaders: {
          fileContentType: 'text/plain; charset=utf-8',
          fileContentEncoding: 'identity',
          fileContentLanguage: 'en-GB',
          fileCacheControl: 'no-cache',
          fileContentDisposition: 'attachment; filename="r.txt"',
          fileContentMD5: md5,
        },
      });
      expect(created._response.status).toBe(201);
      expect(created.etag).toMatch(/^"0x8[0-9A-F]+"$/);
      const event = await theEvent(created, 'FileCreated');
      expect(event.data).toMatchObject({
        path: 'files/report.txt',
        contentLength: 11,
        metadata: { Owner: 'alice', kind: 'report' },
        replaced: false,
      });

      const props = await file.getProperties();
      expect(props._response.status).toBe(200);
      expect(props.contentLength).toBe(11);
      expect(props.etag).toBe(created.etag);
      expect(props.lastModified).toEqual(created.lastModified);
      expect(props.metadata).toEqual({ owner: 'alice', kind: 'report' });
      expect(props.contentType).toBe('text/plain; charset=utf-8');
      expect(props.contentEncoding).toBe('identity');
      expect(props.contentLanguage).toBe('en-GB');
      expect(props.cacheControl).toBe('no-cache');
      expect(props.contentDisposition).toBe('attachment; filename="r.txt"');
      expect(Buffer.from(props.contentMD5!)).toEqual(md5);
      expect(props.fileId).toBe(created.fileId);

      // A new file reads as zeros.
      expect(await contentOf(file)).toEqual(Buffer.alloc(11));
    });

    it('writes and clears ranges', async () => {
      const file = dir.getFileClient('ranges.bin');
      await file.create(11);
      const data = Buffer.from('hello world');
      const put = await file.uploadRange(data, 0, 11);
      expect(put._response.status).toBe(201);
      const md5 = createHash('md5').update(data).digest('base64');
      expect(Buffer.from(put.contentMD5!).toString('base64')).toBe(md5);
      const event = await theEvent(put, 'FileRangeWritten');
      expect(event.data).toMatchObject({ start: 0, end: 10, length: 11, contentMD5: md5 });
      expect(await contentOf(file)).toEqual(data);

      const partial = await file.uploadRange(Buffer.from('W'), 6, 1);
      expect((await theEvent(partial, 'FileRangeWritten')).data).toMatchObject({ start: 6, end: 6, length: 1 });
      expect((await contentOf(file)).toString()).toBe('hello World');

      const cleared = await file.clearRange(2, 3);
      expect(cleared._response.status).toBe(201);
      expect((await theEvent(cleared, 'FileRangeCleared')).data).toMatchObject({ start: 2, end: 4 });
      expect(await contentOf(file)).toEqual(Buffer.from([...Buffer.from('he'), 0, 0, 0, ...Buffer.from(' World')]));

      await refused(file.uploadRange(Buffer.from('xy'), 10, 2), 416, 'InvalidRange');
      await refused(file.clearRange(5, 10), 416, 'InvalidRange');
      expect(await contentOf(file)).toEqual(Buffer.from([...Buffer.from('he'), 0, 0, 0, ...Buffer.from(' World')]));
    });

    it('uploads a file larger than one 4 MiB range and downloads it whole and in ranges', async () => {
      const file = dir.getFileClient('big.bin');
      const size = 5 * MiB + 3;
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + (i >> 12)) & 0xff;
      await file.uploadData(data);

      const whole = await file.download();
      expect(whole._response.status).toBe(200);
      expect(whole.contentLength).toBe(size);
      const body = await readAll(whole.readableStreamBody);
      expect(body.length).toBe(size);
      expect(body.equals(data)).toBe(true);

      // Across the 4 MiB chunk boundary the SDK uploaded at.
      const start = 4 * MiB - 5;
      const ranged = await file.download(start, 10);
      expect(ranged._response.status).toBe(206);
      expect(ranged.contentLength).toBe(10);
      expect(ranged.contentRange).toBe(`bytes ${start}-${start + 9}/${size}`);
      expect((await readAll(ranged.readableStreamBody)).equals(data.subarray(start, start + 10))).toBe(true);

      const tail = await file.download(size - 2);
      expect(tail._response.status).toBe(206);
      expect(tail.contentLength).toBe(2);
      expect(tail.contentRange).toBe(`bytes ${size - 2}-${size - 1}/${size}`);
      expect((await readAll(tail.readableStreamBody)).equals(data.subarray(size - 2))).toBe(true);

      // Put Range events record what each range wrote.
      const { rows } = await service.db.query(
        `SELECT e.data FROM events e WHERE e.tenant = $1 AND e.stream_id = $2 AND e.type = 'FileRangeWritten' ORDER BY (e.data->>'start')::bigint`,
        [ACCOUNT, `node-${(await file.getProperties()).fileId}`],
      );
      expect(rows.map((r) => [r.data.start, r.data.end, r.data.length])).toEqual([
        [0, 4 * MiB - 1, 4 * MiB],
        [4 * MiB, size - 1, MiB + 3],
      ]);
      expect(rows[1].data.contentMD5).toBe(
        createHash('md5')
          .update(data.subarray(4 * MiB))
          .digest('base64'),
      );
    });

    it('streams a whole download too large to hold in memory', async () => {
      const file = dir.getFileClient('sparse.bin');
      const size = 5 * 1024 ** 3;
      await file.create(size);
      await file.uploadRange(Buffer.from('tail'), size - 4, 4);
      const download = await file.download();
      expect(download._response.status).toBe(200);
      expect(download.contentLength).toBe(size);
      // Read the first 9 MiB (several segments), then hang up.
      const stream = download.readableStreamBody as NodeJS.ReadableStream & { destroy(): void };
      let received = 0;
      for await (const chunk of stream) {
        expect((chunk as Buffer).every((b) => b === 0)).toBe(true);
        received += (chunk as Buffer).length;
        if (received >= 9 * MiB) break;
      }
      expect(received).toBeGreaterThanOrEqual(9 * MiB);
      const tail = await file.download(size - 4);
      expect(await readAll(tail.readableStreamBody)).toEqual(Buffer.from('tail'));
      // Ranged downloads larger than one segment stream as well.
      const ranged = await file.download(size - 9 * MiB, 9 * MiB);
      expect(ranged._response.status).toBe(206);
      expect(ranged.contentLength).toBe(9 * MiB);
      const body = await readAll(ranged.readableStreamBody);
      expect(body.length).toBe(9 * MiB);
      expect(body.subarray(-4)).toEqual(Buffer.from('tail'));
      expect(body.subarray(0, -4).every((b) => b === 0)).toBe(true);
    });

    it('downloads an empty file with a Content-Length of 0', async () => {
      const file = dir.getFileClient('empty');
      await file.create(0);
      const download = await file.download();
      expect(download._response.status).toBe(200);
      expect(download.contentLength).toBe(0);
      expect(await readAll(download.readableStreamBody)).toEqual(Buffer.alloc(0));
      expect((await file.getProperties()).contentLength).toBe(0);
    });

    it('refuses a range that starts beyond the end', async () => {
      const file = dir.getFileClient('short');
      await file.create(4);
      await refused(file.download(4, 1), 416, 'InvalidRange');
    });

    it('replaces a file created over an existing one: new size, zero content, new metadata and headers', async () => {
      const file = dir.getFileClient('again.txt');
      const first = await file.create(11, { metadata: { v: '1' }, fileHttpHeaders: { fileContentType: 'text/plain' } });
      await file.uploadRange(Buffer.from('hello world'), 0, 11);
      const second = await file.create(5, { metadata: { v: '2' } });
      expect(second._response.status).toBe(201);
      expect(second.etag).not.toBe(first.etag);
      expect((await theEvent(second, 'FileCreated')).data).toMatchObject({
        contentLength: 5,
        replaced: true,
        metadata: { v: '2' },
      });
      const props = await file.getProperties();
      expect(props.contentLength).toBe(5);
      expect(props.metadata).toEqual({ v: '2' });
      expect(props.contentType).toBe('application/octet-stream');
      expect(await contentOf(file)).toEqual(Buffer.alloc(5));
    });

    it('sets metadata, HTTP headers, and resizes up and down', async () => {
      const file = dir.getFileClient('props.txt');
      await file.create(11, { fileHttpHeaders: { fileContentType: 'text/plain' } });
      await file.uploadRange(Buffer.from('hello world'), 0, 11);

      const meta = await file.setMetadata({ Color: 'red' });
      expect(meta._response.status).toBe(200);
      expect((await theEvent(meta, 'FileMetadataSet')).data).toMatchObject({ metadata: { Color: 'red' } });
      expect((await file.getProperties()).metadata).toEqual({ color: 'red' });
      const cleared = await file.setMetadata();
      await theEvent(cleared, 'FileMetadataSet');
      expect((await file.getProperties()).metadata).toEqual({});

      const headers = await file.setHttpHeaders({
        fileContentType: 'application/json',
        fileCacheControl: 'max-age=60',
      });
      expect(headers._response.status).toBe(200);
      expect((await theEvent(headers, 'FilePropertiesSet')).data).toMatchObject({
        properties: { contentType: 'application/json', cacheControl: 'max-age=60' },
        contentLength: 11,
      });
      let props = await file.getProperties();
      expect(props.contentType).toBe('application/json');
      expect(props.cacheControl).toBe('max-age=60');
      expect(props.contentLength).toBe(11);
      expect((await contentOf(file)).toString()).toBe('hello world');

      const up = await file.resize(20);
      expect(up._response.status).toBe(200);
      expect((await theEvent(up, 'FilePropertiesSet')).data).toMatchObject({ contentLength: 20 });
      expect((await file.getProperties()).contentLength).toBe(20);
      expect(await contentOf(file)).toEqual(Buffer.concat([Buffer.from('hello world'), Buffer.alloc(9)]));

      const down = await file.resize(5);
      expect(down._response.status).toBe(200);
      expect((await file.getProperties()).contentLength).toBe(5);
      expect((await contentOf(file)).toString()).toBe('hello');

      // Bytes cut off by a shrink do not come back when the file grows again.
      await file.resize(8);
      expect(await contentOf(file)).toEqual(Buffer.concat([Buffer.from('hello'), Buffer.alloc(3)]));
      props = await file.getProperties();
      expect(props.contentLength).toBe(8);
    });

    it('resizes across and exactly onto MiB boundaries, keeping the bytes below the new size', async () => {
      const file = dir.getFileClient('boundaries.bin');
      const data = Buffer.alloc(2 * MiB + 10);
      for (let i = 0; i < data.length; i++) data[i] = (i % 251) + 1;
      await file.uploadData(data);
      for (const size of [2 * MiB, MiB + 1, MiB, MiB - 1]) {
        await file.resize(size);
        expect((await contentOf(file)).equals(data.subarray(0, size))).toBe(true);
      }
      await file.resize(2 * MiB);
      const grown = await contentOf(file);
      expect(grown.subarray(0, MiB - 1).equals(data.subarray(0, MiB - 1))).toBe(true);
      expect(grown.subarray(MiB - 1).every((b) => b === 0)).toBe(true);
    });

    it('changes ETag and Last-Modified on every write to data, metadata or properties', async () => {
      const file = dir.getFileClient('stamps.bin');
      const writes: (() => Promise<{ etag?: string }>)[] = [
        () => file.create(10),
        () => file.uploadRange(Buffer.from('abc'), 0, 3),
        () => file.clearRange(0, 1),
        () => file.setMetadata({ a: 'b' }),
        () => file.setHttpHeaders({ fileContentType: 'text/plain' }),
        () => file.resize(20),
        () => file.create(4),
      ];
      const stamps: { etag?: string; lastModified?: Date }[] = [];
      for (const write of writes) {
        if (stamps.length) await nextSecond();
        const result = await write();
        // Set File Metadata answers without Last-Modified, so take both stamps from Get Properties.
        const props = await file.getProperties();
        expect(props.etag).toBe(result.etag);
        stamps.push(props);
      }
      expect(new Set(stamps.map((s) => s.etag)).size).toBe(writes.length);
      for (let i = 1; i < stamps.length; i++) {
        expect(stamps[i].lastModified!.getTime()).toBeGreaterThan(stamps[i - 1].lastModified!.getTime());
      }
      // Reads change nothing.
      await contentOf(file);
      expect((await file.getProperties()).etag).toBe(stamps[stamps.length - 1].etag);
    });

    it('deletes a file', async () => {
      const file = dir.getFileClient('doomed');
      const { fileId } = await file.create(3);
      await file.uploadRange(Buffer.from('xyz'), 0, 3);
      const deleted = await file.delete();
      // Its bytes go with it.
      expect((await service.db.query(`SELECT chunk_no FROM file_chunks WHERE file_id = $1`, [fileId])).rows).toEqual(
        [],
      );
      expect(deleted._response.status).toBe(202);
      expect((await theEvent(deleted, 'FileDeleted')).data).toMatchObject({ path: 'files/doomed' });
      expect(await file.exists()).toBe(false);
      await refused(file.getProperties(), 404, 'ResourceNotFound', { head: true });
      await refused(file.download(), 404, 'ResourceNotFound');
      await refused(file.delete(), 404, 'ResourceNotFound');
      await refused(file.setMetadata({ a: 'b' }), 404, 'ResourceNotFound');
      await refused(file.uploadRange(Buffer.from('a'), 0, 1), 404, 'ResourceNotFound');
      const ifExists = await file.deleteIfExists();
      expect(ifExists.succeeded).toBe(false);
      expect(ifExists.errorCode).toBe('ResourceNotFound');

      // A file created again under that name starts empty.
      await file.create(3);
      expect(await contentOf(file)).toEqual(Buffer.alloc(3));
    });

    it('refuses a file whose directory is missing, and mixing up files and directories', async () => {
      await refused(share.getDirectoryClient('ghost').getFileClient('f').create(1), 404, 'ParentNotFound');
      await refused(share.getDirectoryClient('ghost').getFileClient('f').getProperties(), 404, 'ParentNotFound', {
        head: true,
      });
      const file = dir.getFileClient('plain');
      await file.create(1);
      await refused(dir.getDirectoryClient('plain').create(), 409, 'ResourceTypeMismatch');
      await refused(dir.getDirectoryClient('plain').getProperties(), 404, 'ResourceNotFound');
      await refused(share.rootDirectoryClient.getFileClient('files').create(1), 409, 'ResourceTypeMismatch');
      await refused(share.rootDirectoryClient.getFileClient('files').getProperties(), 404, 'ResourceNotFound', {
        head: true,
      });
    });
  });

  describe('names', () => {
    let share: ShareClient;
    beforeAll(async () => {
      share = await newShare();
    });

    it('are case-insensitive and case-preserving', async () => {
      const created = await share.getDirectoryClient('Dir').create();
      const same = await share.getDirectoryClient('dir').getProperties();
      expect(same.fileId).toBe(created.fileId);
      await refused(share.getDirectoryClient('DIR').create(), 409, 'ResourceAlreadyExists');

      const file = await share.getDirectoryClient('DIR').getFileClient('ReadMe.TXT').create(2);
      await share.getDirectoryClient('dir').getFileClient('readme.txt').uploadRange(Buffer.from('ok'), 0, 2);
      expect(await contentOf(share.getDirectoryClient('Dir').getFileClient('README.txt'))).toEqual(Buffer.from('ok'));
      expect((await share.getDirectoryClient('dIr').getFileClient('rEaDmE.tXt').getProperties()).fileId).toBe(
        file.fileId,
      );

      const root: string[] = [];
      for await (const item of share.rootDirectoryClient.listFilesAndDirectories()) root.push(item.name);
      expect(root).toEqual(['Dir']);
      const inner: string[] = [];
      for await (const item of share.getDirectoryClient('DIR').listFilesAndDirectories()) inner.push(item.name);
      expect(inner).toEqual(['ReadMe.TXT']);
    });

    it('accept spaces, quotes, Unicode, U+FFFF and a 255-character component, and list them unchanged', async () => {
      for (const name of [
        "dir x'(y)!~",
        'üñí 中',
        'sp ace+plus%41#q',
        ' lead',
        'trail ',
        'a&b',
        'x\uFFFFy\uFFFE',
        'c'.repeat(255),
      ]) {
        const dir = share.getDirectoryClient(name);
        await dir.create();
        expect((await dir.getProperties())._response.status).toBe(200);
        await dir.getFileClient(name).create(1);
        for await (const page of share.rootDirectoryClient
          .listFilesAndDirectories({ prefix: name.slice(0, 3) })
          .byPage()) {
          // U+FFFE and U+FFFF cannot be carried by XML: they come back percent-encoded, which the SDK decodes.
          expect(page.prefix).toBe(name.slice(0, 3));
          expect(page.segment.directoryItems.map((d) => d.name)).toContain(name);
        }
        for await (const page of dir.listFilesAndDirectories().byPage()) {
          expect(page.directoryPath).toBe(name);
          expect(page.segment.fileItems.map((f) => f.name)).toEqual([name]);
        }
      }
    });

    it.each([
      ['upper case', 'BadShare'],
      ['an underscore', 'bad_share'],
      ['two characters', 'ab'],
      ['a double hyphen', 'bad--share'],
      ['a leading hyphen', '-bad'],
      ['64 characters', 'a'.repeat(64)],
    ])('refuses a share name with %s', async (_, name) => {
      await refused(client.getShareClient(name).create(), 400, 'InvalidResourceName');
    });

    it.each([
      ['a|b', 'InvalidResourceName'],
      ['a<b', 'InvalidResourceName'],
      ['a:b', 'InvalidResourceName'],
      ['a"b', 'InvalidResourceName'],
      ['con', 'InvalidResourceName'],
      ['LPT1', 'InvalidResourceName'],
      ['clock$', 'InvalidResourceName'],
      ['a\u0001b', 'InvalidResourceName'],
      ['d'.repeat(256), 'InvalidFileOrDirectoryPathName'],
    ])('refuses the directory and file name %j', async (name, code) => {
      await refused(share.getDirectoryClient(name).create(), 400, code);
      await refused(share.rootDirectoryClient.getFileClient(name).create(1), 400, code);
      await refused(share.getDirectoryClient(name).getProperties(), 400, code);
    });

    it('refuses a 256-character component deeper in a path', async () => {
      await share.getDirectoryClient('ok').create();
      await refused(share.getDirectoryClient(`ok/${'e'.repeat(256)}`).create(), 400, 'InvalidFileOrDirectoryPathName');
    });
  });
});
