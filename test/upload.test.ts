import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, test } from 'vitest';
import { content } from './support/http-server.js';
import { InvalidArgumentError, NotSupportedByBackendError, ReplyTooLargeError, upload, type BitsJob } from '../src/index.js';
import { liveHubs, whenHubsIdle } from '../src/observables/hub.js';
import { State } from './loopback/job-model.js';
import { until, useLoopback } from './support/harness.js';

/*
 * Upload and upload-reply jobs on the loopback service, which speaks the BITS upload protocol to the
 * test server (Create-Session, Fragments with Content-Range, the reply's URL, Close-Session).
 */

const h = useLoopback();

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A file of `size` bytes to upload, in the test's folder. */
async function source(name: string, size: number): Promise<string> {
  const file = h.local(name);
  await writeFile(file, content(size));
  return file;
}

async function transferred(job: BitsJob): Promise<void> {
  await job.resume();
  await until(async () => (await job.getState()) === 'transferred');
}

describe('upload jobs', () => {
  test('an upload job sends its file in fragments; Complete leaves the source alone', async () => {
    const file = await source('report.bin', 100_000);
    const job = await h.bits.createJob({ displayName: 'up', type: 'upload', files: [{ url: h.server.url('/upload/report'), localPath: file }] });
    expect(await job.getType()).toBe('upload');
    await transferred(job);
    expect(await job.getProgress()).toMatchObject({ bytesTotal: 100_000, bytesTransferred: 100_000, filesTransferred: 1 });
    // Several fragments, each a POST of its own, besides Create-Session and Close-Session.
    expect(h.server.requests('/upload/report')).toBeGreaterThan(3);
    expect(h.server.uploaded('report')).toEqual(content(100_000));
    await job.complete();
    expect(await readFile(file)).toEqual(content(100_000));
    await job.release();
  });

  test('a server refusing the session puts the job in ERROR with the HTTP status', async () => {
    const file = await source('x.bin', 10);
    const job = await h.bits.createJob({ displayName: 'up', type: 'upload', files: [{ url: h.server.url('/upload/x?status=403'), localPath: file }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect(await job.getError()).toMatchObject({ code: 'BG_E_HTTP_ERROR_403', context: 'remoteFile' });
    await job.cancel();
    await job.release();
  });

  test('a source that is gone is an error of the local file', async () => {
    const job = await h.bits.createJob({ displayName: 'up', type: 'upload', files: [{ url: h.server.url('/upload/y'), localPath: h.local('missing.bin') }] });
    await job.resume();
    await until(async () => (await job.getState()) === 'error');
    expect(await job.getError()).toMatchObject({ code: 'ERROR_FILE_NOT_FOUND', context: 'localFile' });
    await job.cancel();
    await job.release();
  });

  test('GetReplyData is E_NOTIMPL on an upload job (no reply)', async () => {
    const file = await source('z.bin', 10);
    const job = await h.bits.createJob({ displayName: 'up', type: 'upload', files: [{ url: h.server.url('/upload/z'), localPath: file }] });
    await transferred(job);
    await expect(job.getReplyData()).rejects.toMatchObject({ code: 'E_NOTIMPL' });
    await job.complete();
    await job.release();
  });
});

describe('one file per upload job, refused before the service is asked', () => {
  test('createJob with two files', async () => {
    const before = h.service.totalCalls();
    const files = [
      { url: h.server.url('/upload/a'), localPath: h.local('a') },
      { url: h.server.url('/upload/b'), localPath: h.local('b') },
    ];
    await expect(h.bits.createJob({ displayName: 'two', type: 'uploadReply', files })).rejects.toMatchObject({ name: 'InvalidArgumentError', field: 'files' });
    expect(h.service.totalCalls()).toBe(before);
  });

  test('a second addFile on a job made by createJob, and on one opened by id', async () => {
    const job = await h.bits.createJob({ displayName: 'one', type: 'upload', files: [{ url: h.server.url('/upload/a'), localPath: h.local('a') }] });
    const before = h.service.calls('IBackgroundCopyJob::AddFile');
    await expect(job.addFile({ url: h.server.url('/upload/b'), localPath: h.local('b') })).rejects.toBeInstanceOf(InvalidArgumentError);
    const reopened = await h.bits.getJob(job.id);
    await expect(reopened.addFiles([{ url: h.server.url('/upload/b'), localPath: h.local('b') }])).rejects.toMatchObject({ field: 'files' });
    expect(h.service.calls('IBackgroundCopyJob::AddFile') + h.service.calls('IBackgroundCopyJob::AddFileSet')).toBe(before);
    await reopened.release();
    await job.cancel();
    await job.release();
  });

  test('an upload to something other than http(s)', async () => {
    const before = h.service.totalCalls();
    await expect(h.bits.createJob({ displayName: 'smb', type: 'upload', files: [{ url: h.local('share.bin'), localPath: h.local('a') }] })).rejects.toMatchObject({
      field: 'files[0].url',
    });
    expect(h.service.totalCalls()).toBe(before);
  });

  test('the service refuses a second file too (BG_E_TOO_MANY_FILES), for callers that go around the check', async () => {
    const job = await h.bits.createJob({ displayName: 'raw', type: 'upload', files: [{ url: h.server.url('/upload/a'), localPath: h.local('a') }] });
    await expect(job.pointer.call('AddFile', h.server.url('/upload/b'), h.local('b'))).rejects.toMatchObject({ code: 'BG_E_TOO_MANY_FILES' });
    await job.cancel();
    await job.release();
  });
});

describe('upload-reply jobs', () => {
  test('the reply: its data once TRANSFERRED, its progress, and its file after Complete', async () => {
    const file = await source('form.bin', 50_000);
    const job = await h.bits.createJob({ displayName: 'reply', type: 'uploadReply', files: [{ url: h.server.url('/upload/form'), localPath: file }] });
    const progressBefore = await job.getReplyProgress();
    expect(progressBefore).toEqual({ bytesTotal: undefined, bytesTransferred: 0 });
    expect(await job.getReplyFileName()).toBeUndefined();
    await expect(job.getReplyData()).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    await job.setReplyFileName(h.local('reply.txt'));
    await transferred(job);
    const expected = `received 50000 bytes, sha256 ${sha256(content(50_000))}`;
    expect((await job.getReplyData())?.toString()).toBe(expected);
    expect(await job.getReplyProgress()).toEqual({ bytesTotal: expected.length, bytesTransferred: expected.length });
    // The reply download has begun: its file can no longer be renamed.
    await expect(job.setReplyFileName(h.local('other.txt'))).rejects.toMatchObject({ code: 'BG_E_INVALID_STATE' });
    expect(h.service.references().strings).toBe(0);
    await job.complete();
    expect(await readFile(h.local('reply.txt'), 'utf8')).toBe(expected);
    await job.release();
  });

  test('without a reply file name, BITS picks one beside the uploaded file', async () => {
    const file = await source('pick.bin', 10);
    const job = await h.bits.createJob({ displayName: 'reply', type: 'uploadReply', files: [{ url: h.server.url('/upload/pick'), localPath: file }] });
    await transferred(job);
    const name = await job.getReplyFileName();
    expect(name?.startsWith(h.dir)).toBe(true);
    await job.complete();
    expect((await readFile(name!, 'utf8')).startsWith('received 10 bytes')).toBe(true);
    await job.release();
  });

  test('a server that sends no reply: no data, S_OK', async () => {
    const file = await source('none.bin', 10);
    const job = await h.bits.createJob({ displayName: 'reply', type: 'uploadReply', files: [{ url: h.server.url('/upload/none?reply=none'), localPath: file }] });
    await transferred(job);
    expect(await job.getReplyData()).toBeUndefined();
    await job.complete();
    await job.release();
  });

  test('a reply over 1 MiB is a ReplyTooLargeError with its size; the reply file has it after Complete', async () => {
    const size = 1024 * 1024 + 1;
    const file = await source('big.bin', 10);
    const job = await h.bits.createJob({ displayName: 'reply', type: 'uploadReply', files: [{ url: h.server.url(`/upload/big?reply=${size}`), localPath: file }] });
    await job.setReplyFileName(h.local('big-reply.bin'));
    await transferred(job);
    const error = await job.getReplyData().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReplyTooLargeError);
    expect(error).toMatchObject({ size });
    await job.complete();
    expect(sha256(await readFile(h.local('big-reply.bin')))).toBe(sha256(content(size)));
    await job.release();
  });

  test('a reply of exactly 1 MiB is still returned', async () => {
    const size = 1024 * 1024;
    const file = await source('edge.bin', 10);
    const job = await h.bits.createJob({ displayName: 'reply', type: 'uploadReply', files: [{ url: h.server.url(`/upload/edge?reply=${size}`), localPath: file }] });
    await transferred(job);
    expect((await job.getReplyData())?.equals(content(size))).toBe(true);
    await job.complete();
    await job.release();
  });

  test('setReplyFileName checks the path before any call', async () => {
    const job = await h.bits.createJob({ displayName: 'reply', type: 'uploadReply' });
    const before = h.service.totalCalls();
    await expect(job.setReplyFileName('relative/reply.txt')).rejects.toMatchObject({ field: 'replyFileName' });
    await expect(job.setReplyFileName(`/${'r'.repeat(260)}`)).rejects.toMatchObject({ field: 'replyFileName' });
    expect(h.service.totalCalls()).toBe(before);
    await job.cancel();
    await job.release();
  });
});

describe('upload()', () => {
  const opts = () => ({ runtime: h.service.runtime, pollInterval: 5, appName: 'myapp' });

  afterEach(async () => {
    await whenHubsIdle();
    await until(() => h.service.references().jobs === 0);
    expect(liveHubs()).toBe(0);
  });

  test('uploads with credentials, reports progress, completes the job and returns the reply', async () => {
    const file = await source('crash.dmp', 70_000);
    const url = h.server.url('/upload/crash?user=alice&password=hunter2');
    const credentials = [{ target: 'server', scheme: 'basic', userName: 'alice', password: 'hunter2' }] as const;
    const snapshots = await lastValueFrom(upload(file, url, { ...opts(), reply: true, credentials, replyFileName: h.local('answer.txt') }).pipe(toArray()));
    const last = snapshots.at(-1)!;
    const expected = `received 70000 bytes, sha256 ${sha256(content(70_000))}`;
    expect(last).toMatchObject({ state: 'acknowledged', bytesTransferred: 70_000, ratio: 1, attempt: 1 });
    expect(last.done?.reply?.toString()).toBe(expected);
    expect(last.done?.replyFileName).toBe(h.local('answer.txt'));
    expect(await readFile(h.local('answer.txt'), 'utf8')).toBe(expected);
    expect(h.server.uploaded('crash')).toEqual(content(70_000));
    expect(h.service.job(last.jobId)).toMatchObject({ displayName: 'myapp: crash.dmp', type: 2, state: State.ACKNOWLEDGED });
  });

  test('a plain upload ends without a reply', async () => {
    const file = await source('log.txt', 1000);
    const last = await lastValueFrom(upload(file, h.server.url('/upload/log'), opts()));
    expect(last.done).toEqual({ jobId: last.jobId, reply: undefined, replyFileName: undefined });
    expect(h.service.job(last.jobId)?.type).toBe(1);
  });

  test('a reply over 1 MiB is left in its file, and said so', async () => {
    const size = 1024 * 1024 + 10;
    const file = await source('big.bin', 10);
    const last = await lastValueFrom(upload(file, h.server.url(`/upload/big?reply=${size}`), { ...opts(), reply: true }));
    expect(last.done).toMatchObject({ reply: undefined, replyTooLarge: size });
    expect(sha256(await readFile(last.done!.replyFileName!))).toBe(sha256(content(size)));
  });

  test('leaving before the end cancels the job', async () => {
    const file = await source('gone.bin', 10);
    const subscription = upload(file, h.server.url('/upload/gone?status=503'), opts()).subscribe({ error: () => undefined });
    await until(() => h.service.queue.length === 1);
    subscription.unsubscribe();
    await until(() => h.service.queue.length === 0);
  });

  test.each([
    ['a relative local path', 'localPath', () => upload('crash.dmp', h.server.url('/upload/x'), opts())],
    ['an upload to a file URL', 'url', () => upload(h.local('a'), 'file:///tmp/a', opts())],
    ['credentials with a NUL', 'credentials[0].password', () => upload(h.local('a'), h.server.url('/upload/x'), { ...opts(), credentials: [{ target: 'server', scheme: 'basic', userName: 'u', password: 'a\0b' }] })],
    ['a reply file without reply', 'replyFileName', () => upload(h.local('a'), h.server.url('/upload/x'), { ...opts(), replyFileName: h.local('r') })],
    ['a bad retry count', 'retry.count', () => upload(h.local('a'), h.server.url('/upload/x'), { ...opts(), retry: { count: -1 } })],
  ])('%s errors the stream before anything connects', async (_name, field, make) => {
    const before = h.service.totalCalls();
    await expect(lastValueFrom(make())).rejects.toMatchObject({ name: 'InvalidArgumentError', field });
    expect(h.service.totalCalls()).toBe(before);
  });

  test('the portable engine does not upload: a NotSupportedByBackendError before anything connects', async () => {
    await expect(lastValueFrom(upload(h.local('a'), h.server.url('/upload/x'), { backend: 'portable' }))).rejects.toBeInstanceOf(NotSupportedByBackendError);
  });
});
