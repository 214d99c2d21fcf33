import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import koffi from 'koffi';
import { describe, expect, test } from 'vitest';
import { ComPtr } from '../src/com/com-ptr.js';
import { DO_PROPERTIES, IDODownload, IDODownloadStatusCallback, IDOManager, IEnumUnknown } from '../src/com/do-interfaces.js';
import {
  DO_E_BLOCKED_BY_COST_TRANSFER_POLICY,
  DO_E_FILE_DOWNLOADSINK_UNSPECIFIED,
  DO_E_INTEGRITYCHECKINFO_UNAVAILABLE,
  DO_E_INVALID_STATE,
  DO_E_NO_DOWNLOADS,
  DO_E_READ_ONLY_PROPERTY,
  DO_E_UNKNOWN_PROPERTY_ID,
  DO_E_WRITE_ONLY_PROPERTY,
  E_NOT_SET,
  isDoTransientError,
} from '../src/com/do-errors.js';
import { DO_DOWNLOAD_ENUM_CATEGORY, DO_DOWNLOAD_RANGES_INFO, DO_DOWNLOAD_STATUS, VARIANT } from '../src/com/do-native-types.js';
import { ComError } from '../src/com/errors.js';
import { E_NOINTERFACE, S_OK } from '../src/com/hresult.js';
import { CLSID_DeliveryOptimization, IBackgroundCopyManager } from '../src/com/interfaces.js';
import { pointerSlot, readPointer } from '../src/com/native-types.js';
import { StatusCallback } from '../src/com/status-callback.js';
import { DoDownload, statusOf, type DoStatus } from '../src/do/download.js';
import { ERROR_FILE_EXISTS_HR } from './loopback-do/download-model.js';
import { LoopbackDoService } from './loopback-do/service.js';
import { content } from './support/http-server.js';
import { useDoLoopback } from './support/do-harness.js';
import { until } from './support/harness.js';

const h = useDoLoopback({ secondMs: 10, retrySeconds: 2 });

/** Our status callback, recording what DO calls it with (on the receiver thread, from DO's threads). */
function recorder(): { callback: StatusCallback; seen: DoStatus[] } {
  const seen: DoStatus[] = [];
  const callback = new StatusCallback(
    (status) => seen.push(statusOf(status)),
    (error) => {
      throw error;
    },
  );
  return { callback, seen };
}

async function rejection(call: Promise<unknown>): Promise<number> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ComError);
  return (error as ComError).hresult;
}

/** A download of `route` into `name`, set up as every DO client does, in Created. */
async function made(route: string, name: string): Promise<DoDownload> {
  const download = await h.createDownload();
  await download.setProperty('Uri', h.server.url(route));
  await download.setProperty('LocalPath', h.local(name));
  return download;
}

async function stateOf(download: DoDownload): Promise<DoStatus['state']> {
  return (await download.getStatus()).state;
}

describe('the DO API as data', () => {
  test('slots and sizes as do-com.md lists them', () => {
    const names = (iface: { methods: readonly { name: string }[] }) => iface.methods.map((m) => m.name);
    expect(names(IDOManager)).toEqual(['QueryInterface', 'AddRef', 'Release', 'CreateDownload', 'EnumDownloads']);
    expect(names(IDODownload)).toEqual(['QueryInterface', 'AddRef', 'Release', 'Start', 'Pause', 'Abort', 'Finalize', 'GetStatus', 'GetProperty', 'SetProperty']);
    expect(names(IDODownloadStatusCallback)).toEqual(['QueryInterface', 'AddRef', 'Release', 'OnStatusChange']);
    expect(names(IEnumUnknown)).toEqual(['QueryInterface', 'AddRef', 'Release', 'Next', 'Skip', 'Reset', 'Clone']);
    expect([IDOManager.iid, IDODownload.iid, IDODownloadStatusCallback.iid, IEnumUnknown.iid]).toEqual([
      '400E2D4A-1431-4C1A-A748-39CA472CFDB1',
      'FBBD7FC0-C147-4727-A38D-827EF071EE77',
      'D166E8E3-A90E-4392-8E87-05E996D3747D',
      '00000100-0000-0000-C000-000000000046',
    ]);
    expect([DO_DOWNLOAD_STATUS, DO_DOWNLOAD_RANGES_INFO, DO_DOWNLOAD_ENUM_CATEGORY, VARIANT].map((t) => koffi.sizeof(t))).toEqual([32, 24, 16, 24]);
    expect(koffi.offsetof(DO_DOWNLOAD_STATUS, 'ExtendedError')).toBe(24);
    expect(koffi.offsetof(DO_DOWNLOAD_ENUM_CATEGORY, 'Value')).toBe(8);
    expect(Object.values(DO_PROPERTIES).map((p) => p.id)).toEqual([...Array(30).keys()]);
    expect([0x80d03801, 0x80d0380d].map(isDoTransientError)).toEqual([true, true]);
    expect([0x80d02002, 0x80d03001, 0x80193801, 0x00d03801].map(isDoTransientError)).toEqual([false, false, false, false]);
  });
});

describe('the loopback DO service', () => {
  test('CoCreateInstance answers IDOManager, and E_NOINTERFACE for IBackgroundCopyManager', async () => {
    await expect(h.service.runtime.createInstance(CLSID_DeliveryOptimization, IBackgroundCopyManager.iid)).rejects.toMatchObject({ hresult: E_NOINTERFACE });
    const manager = await h.manager();
    await manager.release();
    const refused = new LoopbackDoService({ refusal: 0x80d01001 });
    await expect(refused.runtime.createInstance(CLSID_DeliveryOptimization, IDOManager.iid)).rejects.toMatchObject({ code: 'DO_E_NO_SERVICE' });
    await refused.close();
  });

  test('properties travel as VARIANTs: BSTRs round-trip and are all freed; read-only, write-only, never set, unknown', async () => {
    const download = await h.createDownload();
    await download.setProperty('DisplayName', 'rx-bits: é 漢字');
    expect(await download.getProperty('DisplayName')).toBe('rx-bits: é 漢字');
    expect(await download.getProperty('Id')).toMatch(/^\{[0-9A-F-]{36}\}$/);
    await download.setProperty('CostPolicy', 2);
    expect(await download.getProperty('CostPolicy')).toBe(2);
    await download.setProperty('ForegroundPriority', true);
    expect(await download.getProperty('ForegroundPriority')).toBe(true);
    await download.setProperty('TotalSizeBytes', 5_000_000_000n);
    expect(await download.getProperty('TotalSizeBytes')).toBe(5_000_000_000n);
    expect(await rejection(download.getProperty('ContentId'))).toBe(E_NOT_SET);
    expect(await rejection(download.ptr.call('SetProperty', DO_PROPERTIES.Id.id, Buffer.alloc(24)))).toBe(DO_E_READ_ONLY_PROPERTY);
    expect(await rejection(download.ptr.call('GetProperty', DO_PROPERTIES.SecurityFlags.id, Buffer.alloc(24)))).toBe(DO_E_WRITE_ONLY_PROPERTY);
    // 22621 by default: the Http* read-backs of 26100 are unknown to it.
    expect(await rejection(download.getProperty('HttpStatusCode'))).toBe(DO_E_UNKNOWN_PROPERTY_ID);
    expect(await download.abort()).toBe(E_NOT_SET);
    await download.release();
    expect(h.service.automation.outstanding).toBe(0);
  });

  test('the state table: Start, Pause, Abort, Finalize from each state', async () => {
    const created = await made('/gate/t?size=20000&head=5000', 't.bin');
    expect(await created.pause()).toBe(S_OK);
    expect(await created.finalize()).toBe(DO_E_INVALID_STATE);
    expect(await stateOf(created)).toBe('created');
    await created.start(true);
    await until(async () => (await created.getStatus()).bytesTransferred === 5000n);
    expect(await created.getStatus()).toMatchObject({ state: 'transferring', bytesTotal: 20000n });
    await created.start(false); // a no-op while transferring
    expect(await created.finalize()).toBe(DO_E_INVALID_STATE);
    expect(await created.pause()).toBe(S_OK);
    expect(await stateOf(created)).toBe('paused');
    expect(await created.pause()).toBe(S_OK);
    expect(await created.finalize()).toBe(DO_E_INVALID_STATE);
    h.server.open('t');
    await created.start(false);
    await until(async () => (await stateOf(created)) === 'transferred');
    expect(await created.pause()).toBe(S_OK);
    expect(await created.abort()).toBe(DO_E_INVALID_STATE);
    expect(await stateOf(created)).toBe('transferred');
    await expect(readFile(h.local('t.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await created.finalize()).toBe(S_OK);
    expect(await readFile(h.local('t.bin'))).toEqual(content(20000));
    expect(await created.finalize()).toBe(S_OK);
    expect(await rejection(created.start(false))).toBe(DO_E_INVALID_STATE);
    expect(await created.pause()).toBe(DO_E_INVALID_STATE);
    expect(await created.abort()).toBe(DO_E_INVALID_STATE);
    await created.release();

    const aborted = await made('/gate/a?size=20000&head=100', 'a.bin');
    await aborted.start(true);
    await until(async () => (await aborted.getStatus()).bytesTransferred === 100n);
    expect(await aborted.abort()).toBe(S_OK);
    expect(await aborted.abort()).toBe(S_OK);
    expect(await stateOf(aborted)).toBe('aborted');
    expect(await rejection(aborted.start(false))).toBe(DO_E_INVALID_STATE);
    expect(await aborted.pause()).toBe(DO_E_INVALID_STATE);
    expect(await aborted.finalize()).toBe(DO_E_INVALID_STATE);
    await aborted.release();

    const sinkless = await h.createDownload();
    await sinkless.setProperty('Uri', h.server.url('/files/s'));
    expect(await rejection(sinkless.start(true))).toBe(DO_E_FILE_DOWNLOADSINK_UNSPECIFIED);
    await sinkless.abort();
    await sinkless.release();
  });

  test('DO will not overwrite a file: a download to an existing path fails, the file untouched', async () => {
    await writeFile(h.local('exists.bin'), 'mine');
    const download = await made('/files/e?size=100', 'exists.bin');
    await download.start(true);
    await until(async () => (await download.getStatus()).error !== 0);
    expect(await download.getStatus()).toMatchObject({ state: 'paused', error: ERROR_FILE_EXISTS_HR });
    expect(await readFile(h.local('exists.bin'), 'utf8')).toBe('mine');
    await download.abort();
    await download.release();
  });

  test('BytesTotal reads 0 until the size is known (no Content-Length), not UINT64_MAX', async () => {
    let finish: (() => void) | undefined;
    const server = createServer((_req, res: ServerResponse) => {
      res.writeHead(200); // chunked: no size
      res.write(content(300));
      finish = () => res.end(content(700).subarray(300));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const download = await h.createDownload();
    await download.setProperty('Uri', `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`);
    await download.setProperty('LocalPath', h.local('chunked.bin'));
    expect(await download.getStatus()).toMatchObject({ state: 'created', bytesTotal: 0n, bytesTransferred: 0n });
    await download.start(true);
    await until(async () => (await download.getStatus()).bytesTransferred === 300n);
    expect((await download.getStatus()).bytesTotal).toBe(0n);
    finish!();
    await until(async () => (await stateOf(download)) === 'transferred');
    expect(await download.finalize()).toBe(S_OK);
    expect(await readFile(h.local('chunked.bin'))).toEqual(content(700));
    await download.release();
    await new Promise((resolve) => server.close(resolve));
  });

  test('OnStatusChange reaches our callback from DO threads, in order, on every change and at CallbackFreqSeconds', async () => {
    const { callback, seen } = recorder();
    const download = await made('/gate/cb?size=30000&head=1000', 'cb.bin');
    await download.setProperty('CallbackFreqSeconds', 1);
    await download.setCallback(callback.address);
    expect(callback.refCount).toBe(2); // ours, and the service's
    await download.start(true);
    // At the cadence, while nothing changes: several calls while the gate holds the transfer.
    await until(() => seen.filter((s) => s.state === 'transferring' && s.bytesTransferred === 1000n).length >= 3);
    h.server.open('cb');
    await until(() => seen.at(-1)?.state === 'transferred');
    expect(seen[0]).toMatchObject({ state: 'transferring' });
    expect(seen.map((s) => s.bytesTransferred)).toEqual([...seen.map((s) => s.bytesTransferred)].sort((a, b) => Number(a - b)));
    expect(seen.at(-1)).toEqual({ state: 'transferred', bytesTotal: 30000n, bytesTransferred: 30000n, error: 0, extendedError: 0 });
    // Detaching: {VT_UNKNOWN, NULL}; the service lets go of its reference.
    await download.setCallback(null);
    await h.service.settled();
    expect(callback.refCount).toBe(1);
    expect(await download.finalize()).toBe(S_OK);
    await download.release();
    callback.dispose();
  });

  test('a cost-policy block is a transient pause (Paused, Error 0, ExtendedError set) that DO retries by itself', async () => {
    h.service.faults.block = DO_E_BLOCKED_BY_COST_TRANSFER_POLICY;
    const download = await made('/files/cost?size=5000', 'cost.bin');
    await download.start(true);
    await until(async () => (await download.getStatus()).extendedError !== 0);
    expect(await download.getStatus()).toMatchObject({ state: 'paused', error: 0, extendedError: DO_E_BLOCKED_BY_COST_TRANSFER_POLICY });
    h.service.faults.block = undefined;
    await until(async () => (await stateOf(download)) === 'transferred');
    expect(await download.finalize()).toBe(S_OK);
    await download.release();
  });

  test('a mandatory integrity check the service cannot make aborts the download, and its callback hears it', async () => {
    const { callback, seen } = recorder();
    h.service.faults.integrityUnavailable = true;
    const download = await made('/files/int?size=5000', 'int.bin');
    await download.setProperty('IntegrityCheckMandatory', true);
    await download.setCallback(callback.address);
    await download.start(true);
    await until(() => seen.at(-1)?.state === 'aborted');
    expect(seen.at(-1)).toMatchObject({ state: 'aborted', error: DO_E_INTEGRITYCHECKINFO_UNAVAILABLE });
    expect(await download.getStatus()).toMatchObject({ state: 'aborted', error: DO_E_INTEGRITYCHECKINFO_UNAVAILABLE });
    await h.service.settled();
    expect(callback.refCount).toBe(1); // the service let go of it with the download
    await download.release();
    callback.dispose();
  });

  test('EnumDownloads: a category finds by exact DisplayName; only NonVolatile downloads survive a service restart', async () => {
    const kept = await made('/gate/k?size=9000&head=100', 'k.bin');
    await kept.setProperty('DisplayName', 'keep');
    await kept.setProperty('NonVolatile', true);
    const lost = await made('/files/l?size=10', 'l.bin');
    await lost.setProperty('DisplayName', 'lose');
    await kept.start(true);
    await until(async () => (await kept.getStatus()).bytesTransferred === 100n);
    const find = async (name: string | undefined): Promise<DoDownload[]> => {
      const manager = await h.manager();
      const slot = pointerSlot();
      let category: Buffer | null = null;
      const text = name === undefined ? undefined : Buffer.from(`${name}\0`, 'utf16le');
      if (text !== undefined) {
        category = Buffer.alloc(16);
        category.writeInt32LE(DO_PROPERTIES.DisplayName.id, 0);
        category.writeBigUInt64LE(koffi.address(text) as bigint, 8);
      }
      try {
        const hr = await manager.callRaw('EnumDownloads', category, slot);
        if (hr === DO_E_NO_DOWNLOADS) return [];
        expect(hr).toBe(S_OK);
      } finally {
        await manager.release();
      }
      const enumerator = ComPtr.adopt(readPointer(slot), IEnumUnknown);
      const found: DoDownload[] = [];
      for (;;) {
        const item = pointerSlot();
        const fetched = Buffer.alloc(4);
        await enumerator.call('Next', 1, item, fetched);
        if (fetched.readUInt32LE() === 0) break;
        const unknown = ComPtr.adopt(readPointer(item), IEnumUnknown);
        found.push(new DoDownload(await unknown.queryInterface(IDODownload), h.service.automation));
        await unknown.release();
      }
      await enumerator.release();
      return found;
    };
    const both = await find(undefined);
    expect(both).toHaveLength(2);
    const keep = await find('keep');
    expect(await Promise.all(keep.map((d) => d.getProperty('DisplayName')))).toEqual(['keep']);
    expect(await find('kee')).toEqual([]);
    await Promise.all([...both, ...keep].map((d) => d.release()));

    await h.service.restart();
    expect(await rejection(kept.getStatus())).toBe(0x800706ba);
    await Promise.all([kept.release(), lost.release()]);
    const after = await find(undefined);
    expect(after).toHaveLength(1);
    const [back] = after;
    expect(await back!.getProperty('DisplayName')).toBe('keep');
    expect(await stateOf(back!)).toBe('paused');
    h.server.open('k');
    await back!.start(false);
    await until(async () => (await stateOf(back!)) === 'transferred');
    expect(await back!.finalize()).toBe(S_OK);
    expect(await readFile(h.local('k.bin'))).toEqual(content(9000));
    await back!.release();
    expect(await find(undefined)).toEqual([]);
  });
});
