import koffi from 'koffi';
import { afterEach, describe, expect, test } from 'vitest';
import { ComClass, type ComObject } from '../src/com/com-object.js';
import { encodeGuid, parseGuid, type Guid } from '../src/com/guid.js';
import { BG_E_NOT_FOUND, E_ACCESSDENIED, S_FALSE, S_OK } from '../src/com/hresult.js';
import { IBackgroundCopyFile, IBackgroundCopyJob, IBackgroundCopyManager, IEnumBackgroundCopyJobs } from '../src/com/interfaces.js';
import { readFileInfo } from '../src/com/job.js';
import { POINTER_SIZE, type Pointer } from '../src/com/native-types.js';
import { ComError, ComPtr, connect, type BitsManager, type ComRuntime } from '../src/index.js';
import { useLoopback } from './support/harness.js';

/*
 * Failures the loopback service does not inject, from COM objects of our own: a job that leaves the
 * queue while EnumJobs walks (its reads fail), a file whose GetLocalName fails, a service that refuses
 * an option of a job it just created. Strings come from the loopback's task memory, so the harness
 * counts what is left; each object's own reference count says whether the library gave back its own.
 */

const h = useLoopback();

const handlerErrors: unknown[] = [];
const options = { answerOnThrow: 0x8000ffff, report: (error: unknown) => void handlerErrors.push(error) };
const classes = {
  manager: new ComClass(IBackgroundCopyManager, options),
  enumJobs: new ComClass(IEnumBackgroundCopyJobs, options),
  job: new ComClass(IBackgroundCopyJob, options),
  file: new ComClass(IBackgroundCopyFile, options),
};

const writePointer = (out: Pointer, value: Pointer): void => koffi.encode(out, 'void *', value);

/** Objects a test made (one reference each, ours), freed after the test. */
const made: ComObject[] = [];
const own = (object: ComObject): ComObject => (made.push(object), object);

afterEach(() => {
  for (const object of made.splice(0)) object.release();
  expect(handlerErrors.splice(0)).toEqual([]);
});

interface FakeJob {
  readonly id: Guid;
  /** false: GetId fails with BG_E_NOT_FOUND, as for a job that is gone. */
  readonly idReadable?: boolean;
  /** undefined: GetDisplayName fails with BG_E_NOT_FOUND. */
  readonly name: string | undefined;
  /** What SetDescription answers; S_OK by default. */
  readonly setDescription?: number;
}

/** Calls the fake jobs received, in order, e.g. `GetDisplayName`. */
const jobCalls: string[] = [];

function fakeJob(spec: FakeJob): ComObject {
  const log = (method: string, hr: number): number => (jobCalls.push(method), hr);
  return own(
    classes.job.create({
      methods: {
        GetId: (out) => {
          if (spec.idReadable === false) return log('GetId', BG_E_NOT_FOUND);
          koffi.encode(out, 'uint8_t[16]', [...encodeGuid(spec.id)]);
          return log('GetId', S_OK);
        },
        GetDisplayName: (out) => {
          if (spec.name === undefined) return log('GetDisplayName', BG_E_NOT_FOUND);
          writePointer(out!, h.service.taskMemory.allocString(spec.name));
          return log('GetDisplayName', S_OK);
        },
        SetDescription: () => log('SetDescription', spec.setDescription ?? S_OK),
        Cancel: () => log('Cancel', S_OK),
      },
    }),
  );
}

/** IEnumBackgroundCopyJobs over `jobs`, handing out a new reference to each. */
function enumeratorOf(jobs: readonly ComObject[], onFinalRelease: () => void): ComObject {
  let position = 0;
  return classes.enumJobs.create({
    onFinalRelease,
    methods: {
      Next: (count, out, fetched) => {
        let n = 0;
        for (; n < count && position < jobs.length; n++, position++) {
          jobs[position]!.addRef();
          koffi.encode(out, n * POINTER_SIZE, 'void *', jobs[position]!.address);
        }
        if (fetched !== null) koffi.encode(fetched, 'uint32', n);
        return n === count ? S_OK : S_FALSE;
      },
    },
  });
}

/** A manager whose EnumJobs lists `jobs` and whose CreateJob makes `created`, reached through connect(). */
async function fakeService(service: { jobs?: readonly ComObject[]; created?: { id: Guid; job: ComObject } }): Promise<{ bits: BitsManager; enumerators: { live: number } }> {
  const enumerators = { live: 0 };
  const manager = own(
    classes.manager.create({
      methods: {
        EnumJobs: (_flags, out) => {
          enumerators.live++;
          writePointer(out!, enumeratorOf(service.jobs ?? [], () => enumerators.live--).address);
          return S_OK;
        },
        CreateJob: (_name, _type, idOut, jobOut) => {
          if (service.created === undefined) return E_ACCESSDENIED;
          koffi.encode(idOut, 'uint8_t[16]', [...encodeGuid(service.created.id)]);
          service.created.job.addRef();
          writePointer(jobOut!, service.created.job.address);
          return S_OK;
        },
      },
    }),
  );
  const runtime: ComRuntime = {
    ...h.service.runtime,
    createInstance: () => {
      manager.addRef();
      return Promise.resolve(manager.address);
    },
  };
  return { bits: await connect({ runtime }), enumerators };
}

const ID = {
  gone: parseGuid('00000000-0000-0000-0000-0000000000A1'),
  nameless: parseGuid('00000000-0000-0000-0000-0000000000A2'),
  mine: parseGuid('00000000-0000-0000-0000-0000000000A3'),
  other: parseGuid('00000000-0000-0000-0000-0000000000A4'),
};

describe('jobs(): a job that left the queue during the walk is skipped and released, and the walk goes on', () => {
  test('GetDisplayName fails for one job while filtering by prefix', async () => {
    const jobs = [
      fakeJob({ id: ID.nameless, name: undefined }),
      fakeJob({ id: ID.mine, name: 'myapp: kept' }),
      fakeJob({ id: ID.other, name: 'other' }),
    ];
    const { bits, enumerators } = await fakeService({ jobs });
    const found: string[] = [];
    for await (const job of bits.jobs({ displayNamePrefix: 'myapp: ' })) {
      found.push(job.id);
      await job.release();
    }
    expect(found).toEqual([ID.mine]);
    expect(jobs.map((job) => job.refCount)).toEqual([1, 1, 1]); // only the test's own references are left
    expect(enumerators.live).toBe(0);
    await bits.release();
  });

  test('GetId fails for one job while listing all', async () => {
    const jobs = [fakeJob({ id: ID.gone, idReadable: false, name: 'myapp: gone' }), fakeJob({ id: ID.mine, name: 'myapp: kept' })];
    const { bits, enumerators } = await fakeService({ jobs });
    const found: string[] = [];
    for await (const job of bits.jobs()) {
      found.push(job.id);
      await job.release();
    }
    expect(found).toEqual([ID.mine]);
    expect(jobs.map((job) => job.refCount)).toEqual([1, 1]);
    expect(enumerators.live).toBe(0);
    await bits.release();
  });
});

describe('createJob: a job whose option the service refuses is cancelled and released', () => {
  test('SetDescription fails with E_ACCESSDENIED', async () => {
    const job = fakeJob({ id: ID.mine, name: 'half-made', setDescription: E_ACCESSDENIED });
    const { bits } = await fakeService({ created: { id: ID.mine, job } });
    jobCalls.length = 0;
    const error: unknown = await bits.createJob({ displayName: 'half-made', description: 'refused' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComError);
    expect(error).toMatchObject({ code: 'E_ACCESSDENIED', method: 'SetDescription' });
    expect(jobCalls).toEqual(['SetDescription', 'Cancel']);
    expect(job.refCount).toBe(1);
    await bits.release();
  });
});

describe('readFileInfo', () => {
  test('a GetLocalName that fails leaves no remote name behind in task memory', async () => {
    const object = classes.file.create({
      methods: {
        GetRemoteName: (out) => (writePointer(out!, h.service.taskMemory.allocString('http://127.0.0.1/a')), S_OK),
        GetLocalName: () => E_ACCESSDENIED,
      },
    });
    const file = ComPtr.adopt(object.address, IBackgroundCopyFile); // takes over our reference
    try {
      await expect(readFileInfo(file, h.service.runtime)).rejects.toMatchObject({ code: 'E_ACCESSDENIED', method: 'GetLocalName' });
      expect(h.service.references().strings).toBe(0);
    } finally {
      await file.release();
    }
    expect(object.refCount).toBe(0);
  });
});
