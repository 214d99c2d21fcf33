import { describe, expectTypeOf, test } from 'vitest';
import { ComClass } from '../src/com/com-object.js';
import type { ComPtr } from '../src/com/com-ptr.js';
import { encodeGuid } from '../src/com/guid.js';
import { defineInterface, type CallArgs, type HandlerArgs, type MethodsTaking, type MethodsOf, type PropertyValueWords } from '../src/com/interface-table.js';
import { IDODownload, IDODownloadStatusCallback } from '../src/com/do-interfaces.js';
import { IBackgroundCopyCallback2, IBackgroundCopyJob, IBackgroundCopyJob3, IBackgroundCopyJob5, IBackgroundCopyJobHttpOptions, IUnknown } from '../src/com/interfaces.js';
import { invokeSync } from '../src/com/invoke.js';
import type { Pointer } from '../src/com/native-types.js';
import type { BitsJob } from '../src/index.js';

/*
 * The COM boundary's types, read from the interface tables: `npm run typecheck` compiles this file,
 * so each `@ts-expect-error` below is a call or handler that must not compile (tsc fails on an
 * expectation that no longer errs), and each line without one must. The functions holding the calls
 * are never run: they would need a live service, and only their types matter here.
 */

type Job = typeof IBackgroundCopyJob;

describe('arguments and handler parameters from the prototypes', () => {
  test('each C type maps to what koffi takes on a call and hands a callback', () => {
    expectTypeOf<CallArgs<Job['declarations']['SetDisplayName']>>().toEqualTypeOf<[string | null]>();
    expectTypeOf<CallArgs<Job['declarations']['SetProxySettings']>>().toEqualTypeOf<[number, string | null, string | null]>();
    expectTypeOf<CallArgs<Job['declarations']['GetProxySettings']>>().toEqualTypeOf<[Buffer, Buffer, Buffer]>();
    expectTypeOf<CallArgs<Job['declarations']['Resume']>>().toEqualTypeOf<[]>();
    expectTypeOf<HandlerArgs<Job['declarations']['AddFileSet']>>().toEqualTypeOf<[number, Pointer | null]>();
    expectTypeOf<CallArgs<typeof IDODownload.declarations.Start>>().toEqualTypeOf<[Buffer | null]>();
    expectTypeOf<CallArgs<typeof IDODownload.declarations.SetProperty>>().toEqualTypeOf<[number, Buffer]>();
    expectTypeOf<HandlerArgs<typeof IDODownloadStatusCallback.declarations.OnStatusChange>>().toEqualTypeOf<[Pointer | null, Pointer | null]>();
    // IBackgroundCopyJob3/5: the ranges in a caller's buffer; the property union BY VALUE as two words.
    expectTypeOf<CallArgs<typeof IBackgroundCopyJob3.declarations.AddFileWithRanges>>().toEqualTypeOf<[string | null, string | null, number, Buffer]>();
    expectTypeOf<CallArgs<typeof IBackgroundCopyJob5.declarations.SetProperty>>().toEqualTypeOf<[number, PropertyValueWords]>();
    expectTypeOf<HandlerArgs<typeof IBackgroundCopyJob5.declarations.SetProperty>>().toEqualTypeOf<[number, PropertyValueWords]>();
    expectTypeOf<CallArgs<typeof IBackgroundCopyJob5.declarations.GetProperty>>().toEqualTypeOf<[number, Buffer]>();
    expectTypeOf<MethodsOf<typeof IBackgroundCopyJobHttpOptions>>().toEqualTypeOf<
      | 'QueryInterface'
      | 'AddRef'
      | 'Release'
      | 'SetClientCertificateByID'
      | 'SetClientCertificateByName'
      | 'RemoveClientCertificate'
      | 'GetClientCertificate'
      | 'SetCustomHeaders'
      | 'GetCustomHeaders'
      | 'SetSecurityFlags'
      | 'GetSecurityFlags'
    >();
    expectTypeOf<MethodsTaking<Job, ['_Out_ int *']>>().toEqualTypeOf<'GetType' | 'GetState' | 'GetPriority'>();
    expectTypeOf<MethodsTaking<Job, []>>().toEqualTypeOf<'AddRef' | 'Release' | 'Suspend' | 'Resume' | 'Cancel' | 'Complete' | 'TakeOwnership'>();
  });

  test('a call with the wrong arguments does not compile', () => {
    expectTypeOf(wrongCalls).toBeFunction();
  });

  test('a handler expecting the wrong parameters does not compile', () => {
    expectTypeOf(wrongHandlers).toBeFunction();
  });

  test('a prototype with a C type nobody mapped does not compile', () => {
    expectTypeOf(unmappedTypes).toBeFunction();
  });
});

async function wrongCalls(job: ComPtr<Job>, bitsJob: BitsJob, self: Pointer): Promise<void> {
  await job.call('SetDisplayName', 'name');
  await job.call('SetDisplayName', null);
  await job.call('AddFileSet', 1, [{ RemoteName: 'http://x/a', LocalName: 'C:\\a' }]);
  await job.call('SetNotifyInterface', null);
  await job.call('GetProxySettings', Buffer.alloc(4), Buffer.alloc(8), Buffer.alloc(8));
  // @ts-expect-error a number where the prototype takes `const char16_t *`
  await job.call('SetDisplayName', 42);
  // @ts-expect-error a missing argument
  await job.call('SetDisplayName');
  // @ts-expect-error one argument too many
  await job.call('Resume', 1);
  // @ts-expect-error a method IBackgroundCopyJob does not have
  await job.call('SetCustomHeaders', 'X-A: b');
  // @ts-expect-error a file set is BG_FILE_INFO records, not strings
  await job.callRaw('AddFileSet', 1, ['http://x/a']);
  // @ts-expect-error an out-parameter is a buffer for the service to write
  await job.call('GetState', 0);

  const options = await job.queryInterface(IBackgroundCopyJobHttpOptions);
  await options.call('SetCustomHeaders', 'X-A: b');
  // @ts-expect-error QueryInterface answers a pointer typed for the interface asked for
  await options.call('SetDisplayName', 'name');

  await bitsJob.withInterface(IBackgroundCopyJobHttpOptions, (http) => http.call('SetSecurityFlags', 0));
  // @ts-expect-error the use receives the interface asked for
  await bitsJob.withInterface(IBackgroundCopyJobHttpOptions, (http) => http.call('Resume'));

  invokeSync(self, IBackgroundCopyCallback2.method('JobModification'), null, 0);
  // Job properties are typed by name: each takes its own kind of value, and gives its own back.
  await bitsJob.setProperty('transferPolicy', 'standard');
  await bitsJob.setProperty('transferPolicy', ['unrestricted', 'ignoreCongestion']);
  expectTypeOf(await bitsJob.getProperty('maxDownloadSize')).toEqualTypeOf<number | undefined>();
  // @ts-expect-error no BITS_JOB_TRANSFER_POLICY is called that
  await bitsJob.setProperty('transferPolicy', 'notMetered');
  // @ts-expect-error on-demand mode is a boolean
  await bitsJob.setProperty('onDemand', 'yes');
  // @ts-expect-error BITS uses stored credentials for the proxy only
  await bitsJob.setProperty('useStoredCredentials', 'server');
  // @ts-expect-error flags are named
  await bitsJob.setFileAclFlags([0x1]);
  // @ts-expect-error JobModification takes the job and a reserved ULONG
  invokeSync(self, IBackgroundCopyCallback2.method('JobModification'), null);
  // @ts-expect-error QueryInterface takes an IID, encoded, and a slot
  invokeSync(self, IUnknown.method('QueryInterface'), 'IID_IUnknown', Buffer.alloc(8));
  invokeSync(self, IUnknown.method('QueryInterface'), encodeGuid(IUnknown.iid), Buffer.alloc(8));
}

function wrongHandlers(): void {
  const cls = new ComClass(IBackgroundCopyJob, { answerOnThrow: 0x8000ffff, report: () => undefined });
  cls.create({
    methods: {
      SetDisplayName: (name) => (expectTypeOf(name).toEqualTypeOf<string | null>(), 0),
      SetPriority: (priority: number) => priority,
      // Fewer parameters than the prototype is fine, as for any callback.
      SetProxySettings: (usage) => usage,
      GetState: (out) => (expectTypeOf(out).toEqualTypeOf<Pointer | null>(), 0),
    },
  });
  cls.create({
    methods: {
      // @ts-expect-error the name arrives as a string (or null), not a number
      SetDisplayName: (name: number) => name,
    },
  });
  cls.create({
    methods: {
      // @ts-expect-error an out-parameter may arrive NULL: the handler must accept null
      GetState: (out: Pointer) => Number(out),
    },
  });
  cls.create({
    methods: {
      // @ts-expect-error IUnknown's methods are the object's own, not handlers
      AddRef: () => 1,
    },
  });
  cls.create({
    methods: {
      // @ts-expect-error a method IBackgroundCopyJob does not have
      JobTransferred: () => 0,
    },
  });
}

function unmappedTypes(): void {
  defineInterface('IKnown', '00000000-0000-0000-0000-000000000001', IUnknown, { Take: 'HRESULT (uint32 count, _Out_ void **item)' });
  // @ts-expect-error `float` has no mapping: the table does not compile until someone adds one
  defineInterface('IUnmapped', '00000000-0000-0000-0000-000000000002', IUnknown, { Scale: 'HRESULT (float factor)' });
  // @ts-expect-error an unknown return type
  defineInterface('IUnmappedResult', '00000000-0000-0000-0000-000000000003', IUnknown, { Count: 'int64 ()' });
  // @ts-expect-error `int32` is not `int`: a type is matched whole, not by prefix
  defineInterface('IPrefix', '00000000-0000-0000-0000-000000000004', IUnknown, { Set: 'HRESULT (int32 value)' });
}
