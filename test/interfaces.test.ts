import { describe, expect, test } from 'vitest';
import * as interfaces from '../src/com/interfaces.js';
import type { ComInterface } from '../src/com/interface-table.js';
import koffi from 'koffi';
import { BG_AUTH_CREDENTIALS, BG_FILE_RANGE, BG_JOB_REPLY_PROGRESS, BITS_JOB_PROPERTY_VALUE, POINTER_SIZE } from '../src/com/native-types.js';

/**
 * The slot lists of ../shared/reference/bits-com.md ("Vtable slots"), transcribed: every interface
 * table must put each method at the reference's slot, with IUnknown's three first.
 */
const JOB_SLOTS: Record<number, string> = {
  3: 'AddFileSet', 4: 'AddFile', 5: 'EnumFiles', 6: 'Suspend', 7: 'Resume', 8: 'Cancel', 9: 'Complete', 10: 'GetId',
  11: 'GetType', 12: 'GetProgress', 13: 'GetTimes', 14: 'GetState', 15: 'GetError', 16: 'GetOwner', 17: 'SetDisplayName',
  18: 'GetDisplayName', 19: 'SetDescription', 20: 'GetDescription', 21: 'SetPriority', 22: 'GetPriority',
  23: 'SetNotifyFlags', 24: 'GetNotifyFlags', 25: 'SetNotifyInterface', 26: 'GetNotifyInterface',
  27: 'SetMinimumRetryDelay', 28: 'GetMinimumRetryDelay', 29: 'SetNoProgressTimeout', 30: 'GetNoProgressTimeout',
  31: 'GetErrorCount', 32: 'SetProxySettings', 33: 'GetProxySettings', 34: 'TakeOwnership',
};

const JOB3_SLOTS: Record<number, string> = {
  ...JOB_SLOTS,
  35: 'SetNotifyCmdLine', 36: 'GetNotifyCmdLine', 37: 'GetReplyProgress', 38: 'GetReplyData', 39: 'SetReplyFileName',
  40: 'GetReplyFileName', 41: 'SetCredentials', 42: 'RemoveCredentials',
  43: 'ReplaceRemotePrefix', 44: 'AddFileWithRanges', 45: 'SetFileACLFlags', 46: 'GetFileACLFlags',
};
const JOB4_SLOTS: Record<number, string> = {
  ...JOB3_SLOTS,
  47: 'SetPeerCachingFlags', 48: 'GetPeerCachingFlags', 49: 'GetOwnerIntegrityLevel', 50: 'GetOwnerElevationState',
  51: 'SetMaximumDownloadTime', 52: 'GetMaximumDownloadTime',
};

const FILE2_SLOTS: Record<number, string> = { 3: 'GetRemoteName', 4: 'GetLocalName', 5: 'GetProgress', 6: 'GetFileRanges', 7: 'SetRemoteName' };
const FILE3_SLOTS: Record<number, string> = { ...FILE2_SLOTS, 8: 'GetTemporaryName', 9: 'SetValidationState', 10: 'GetValidationState', 11: 'IsDownloadedFromPeer' };
const FILE5_SLOTS: Record<number, string> = { ...FILE3_SLOTS, 12: 'GetPeerDownloadStats', 13: 'SetProperty', 14: 'GetProperty' };

const REFERENCE: Record<string, { iid: string; slots: Record<number, string> }> = {
  IBackgroundCopyManager: {
    iid: '5CE34C0D-0DC9-4C1F-897C-DAA1B78CEE7C',
    slots: { 3: 'CreateJob', 4: 'GetJob', 5: 'EnumJobs', 6: 'GetErrorDescription' },
  },
  IBackgroundCopyJob: {
    iid: '37668D37-507E-4160-9316-26306D150B12',
    slots: JOB_SLOTS,
  },
  IBackgroundCopyError: {
    iid: '19C613A0-FCB8-4F28-81AE-897C3D078F81',
    slots: { 3: 'GetError', 4: 'GetFile', 5: 'GetErrorDescription', 6: 'GetErrorContextDescription', 7: 'GetProtocol' },
  },
  IBackgroundCopyFile: {
    iid: '01B7BD23-FB88-4A77-8490-5891D3E4653A',
    slots: { 3: 'GetRemoteName', 4: 'GetLocalName', 5: 'GetProgress' },
  },
  // bits-com-extended.md: File2 6-7, File3 8-11, File4 12, File5 13-14, File6 15-17, each over every slot of its base.
  IBackgroundCopyFile2: { iid: '83E81B93-0873-474D-8A8C-F2018B1A939C', slots: FILE2_SLOTS },
  IBackgroundCopyFile3: { iid: '659CDEAA-489E-11D9-A9CD-000D56965251', slots: FILE3_SLOTS },
  IBackgroundCopyFile4: { iid: 'EF7E0655-7888-4960-B0E5-730846E03492', slots: { ...FILE3_SLOTS, 12: 'GetPeerDownloadStats' } },
  IBackgroundCopyFile5: { iid: '85C1657F-DAFC-40E8-8834-DF18EA25717E', slots: FILE5_SLOTS },
  IBackgroundCopyFile6: {
    iid: 'CF6784F7-D677-49FD-9368-CB47AEE9D1AD',
    slots: { ...FILE5_SLOTS, 15: 'UpdateDownloadPosition', 16: 'RequestFileRanges', 17: 'GetFilledFileRanges' },
  },
  IEnumBackgroundCopyJobs: {
    iid: '1AF4F612-3B71-466F-8F58-7B6F73AC57AD',
    slots: { 3: 'Next', 4: 'Skip', 5: 'Reset', 6: 'Clone', 7: 'GetCount' },
  },
  IEnumBackgroundCopyFiles: {
    iid: 'CA51E165-C365-424C-8D41-24AAA4FF3C40',
    slots: { 3: 'Next', 4: 'Skip', 5: 'Reset', 6: 'Clone', 7: 'GetCount' },
  },
  IBackgroundCopyCallback: {
    iid: '97EA99C7-0186-4AD4-8DF9-C5B4E0ED6B22',
    slots: { 3: 'JobTransferred', 4: 'JobError', 5: 'JobModification' },
  },
  IBackgroundCopyCallback2: {
    iid: '659CDEAC-489E-11D9-A9CD-000D56965251',
    slots: { 3: 'JobTransferred', 4: 'JobError', 5: 'JobModification', 6: 'FileTransferred' },
  },
  IBackgroundCopyCallback3: {
    iid: '98C97BD2-E32B-4AD8-A528-95FD8B16BD42',
    slots: { 3: 'JobTransferred', 4: 'JobError', 5: 'JobModification', 6: 'FileTransferred', 7: 'FileRangesTransferred' },
  },
  // Not in the reference: bits2_5.h (IID and slot order checked against the SDK header).
  IBackgroundCopyJobHttpOptions: {
    iid: 'F1BD1079-9F01-4BDC-8036-F09B70095066',
    slots: {
      3: 'SetClientCertificateByID', 4: 'SetClientCertificateByName', 5: 'RemoveClientCertificate', 6: 'GetClientCertificate',
      7: 'SetCustomHeaders', 8: 'GetCustomHeaders', 9: 'SetSecurityFlags', 10: 'GetSecurityFlags',
    },
  },
  // bits-com-extended.md: HttpOptions2 11-12 over HttpOptions' 3-10.
  IBackgroundCopyJobHttpOptions2: {
    iid: 'B591A192-A405-4FC3-8323-4C5C542578FC',
    slots: {
      3: 'SetClientCertificateByID', 4: 'SetClientCertificateByName', 5: 'RemoveClientCertificate', 6: 'GetClientCertificate',
      7: 'SetCustomHeaders', 8: 'GetCustomHeaders', 9: 'SetSecurityFlags', 10: 'GetSecurityFlags',
      11: 'SetHttpMethod', 12: 'GetHttpMethod',
    },
  },
  // bits-com-extended.md: HttpOptions3 13-14 over HttpOptions2; the validation callback's one method at 3.
  IBackgroundCopyJobHttpOptions3: {
    iid: '8A9263D3-FD4C-4EDA-9B28-30132A4D4E3C',
    slots: {
      3: 'SetClientCertificateByID', 4: 'SetClientCertificateByName', 5: 'RemoveClientCertificate', 6: 'GetClientCertificate',
      7: 'SetCustomHeaders', 8: 'GetCustomHeaders', 9: 'SetSecurityFlags', 10: 'GetSecurityFlags',
      11: 'SetHttpMethod', 12: 'GetHttpMethod', 13: 'SetServerCertificateValidationInterface', 14: 'MakeCustomHeadersWriteOnly',
    },
  },
  IBackgroundCopyServerCertificateValidationCallback: {
    iid: '4CEC0D02-DEF7-4158-813A-C32A46945FF7',
    slots: { 3: 'ValidateServerCertificate' },
  },
  // bits-com-extended.md, "Identifiers" and "Vtable slots": IBackgroundCopyJob's 3-34, then its own 35-42.
  IBackgroundCopyJob2: {
    iid: '54B50739-686F-45EB-9DFF-D6A9A0FAA9AF',
    slots: {
      ...JOB_SLOTS,
      35: 'SetNotifyCmdLine', 36: 'GetNotifyCmdLine', 37: 'GetReplyProgress', 38: 'GetReplyData', 39: 'SetReplyFileName',
      40: 'GetReplyFileName', 41: 'SetCredentials', 42: 'RemoveCredentials',
    },
  },
  // bits-com-extended.md: Job3 43-46, Job4 47-52, Job5 53-54, each over every slot of its base.
  IBackgroundCopyJob3: { iid: '443C8934-90FF-48ED-BCDE-26F5C7450042', slots: JOB3_SLOTS },
  IBackgroundCopyJob4: { iid: '659CDEAE-489E-11D9-A9CD-000D56965251', slots: JOB4_SLOTS },
  IBackgroundCopyJob5: {
    iid: 'E847030C-BBBA-4657-AF6D-484AA42BF1FE',
    slots: { ...JOB4_SLOTS, 53: 'SetProperty', 54: 'GetProperty' },
  },
};

const tables = interfaces as unknown as Record<string, ComInterface | undefined>;

describe('interface tables', () => {
  test.each(Object.entries(REFERENCE))('%s matches the reference slot for slot', (name, expected) => {
    const table = tables[name];
    expect(table, `${name} is declared`).toBeDefined();
    expect(table!.iid).toBe(expected.iid);
    const names = table!.methods.map((method) => method.name);
    expect(names.slice(0, 3)).toEqual(['QueryInterface', 'AddRef', 'Release']);
    const own = Object.fromEntries(table!.methods.slice(3).map((method) => [method.slot, method.name]));
    expect(own).toEqual(expected.slots);
    for (const method of table!.methods) expect(table!.method(method.name).slot).toBe(method.slot);
  });

  test('every prototype parses into a koffi prototype taking `this` first', () => {
    for (const name of Object.keys(REFERENCE)) {
      for (const method of tables[name]!.methods) {
        const { proto } = method;
        expect(proto.primitive).toBe('Prototype');
        // koffi describes each argument as { type, direction }.
        const self = proto.proto?.arguments[0] as unknown as { type: { primitive: string } } | undefined;
        expect(self?.type.primitive).toBe('Pointer');
        expect(method.returnsHresult).toBe(method.name !== 'AddRef' && method.name !== 'Release');
      }
    }
  });

  test('an unknown method name is a TypeError, not a wrong slot', () => {
    expect(() => (interfaces.IBackgroundCopyJob as ComInterface).method('Frobnicate')).toThrow(TypeError);
  });

  // bits-com-extended.md, "Structs and unions", x64 column (the platforms koffi's tests here run on are 64-bit).
  test('Job2 structures have the SDK layout', () => {
    expect(POINTER_SIZE).toBe(8);
    expect(koffi.sizeof(BG_AUTH_CREDENTIALS)).toBe(24);
    expect(koffi.offsetof(BG_AUTH_CREDENTIALS, 'Scheme')).toBe(4);
    expect(koffi.offsetof(BG_AUTH_CREDENTIALS, 'Credentials')).toBe(8);
    expect(koffi.sizeof(BG_JOB_REPLY_PROGRESS)).toBe(16);
  });

  test('Job3 and Job5 structures have the SDK layout', () => {
    expect(koffi.sizeof(BG_FILE_RANGE)).toBe(16);
    expect(koffi.offsetof(BG_FILE_RANGE, 'Length')).toBe(8);
    // The union: 16 bytes, 8-aligned (its UINT64 member), passed by value.
    expect(koffi.sizeof(BITS_JOB_PROPERTY_VALUE)).toBe(16);
    expect(koffi.alignof(BITS_JOB_PROPERTY_VALUE)).toBe(8);
  });

  test('class ids', () => {
    expect(interfaces.CLSID_BackgroundCopyManager).toBe('4991D34B-80A1-4291-83B6-3328366B9097');
    expect(interfaces.CLSID_DeliveryOptimization).toBe('5B99FA76-721C-423C-ADAC-56D03C8A8007');
  });
});
