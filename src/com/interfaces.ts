import { defineInterface } from './interface-table.js';
import { parseGuid } from './guid.js';

/*
 * The interfaces rx-bits speaks, from bits.h / bits3_0.h / deliveryoptimization.h. Declaration order
 * is slot order; a test checks each table against the slot lists in the reference.
 */

export const CLSID_BackgroundCopyManager = parseGuid('4991D34B-80A1-4291-83B6-3328366B9097');
export const CLSID_DeliveryOptimization = parseGuid('5B99FA76-721C-423C-ADAC-56D03C8A8007');

/** Interfaces a COM service asks our objects for but we deliberately refuse (see the callback object). */
export const IID_IMarshal = parseGuid('00000003-0000-0000-C000-000000000046');
export const IID_IExternalConnection = parseGuid('00000019-0000-0000-C000-000000000046');

export const IUnknown = defineInterface('IUnknown', '00000000-0000-0000-C000-000000000046', undefined, {
  QueryInterface: 'HRESULT (const GUID *riid, _Out_ void **object)',
  AddRef: 'uint32 ()',
  Release: 'uint32 ()',
});

export const IBackgroundCopyManager = defineInterface(
  'IBackgroundCopyManager',
  '5CE34C0D-0DC9-4C1F-897C-DAA1B78CEE7C',
  IUnknown,
  {
    CreateJob: 'HRESULT (const char16_t *displayName, int type, _Out_ GUID *jobId, _Out_ void **job)',
    GetJob: 'HRESULT (const GUID *jobId, _Out_ void **job)',
    EnumJobs: 'HRESULT (uint32 flags, _Out_ void **enumJobs)',
    GetErrorDescription: 'HRESULT (HRESULT result, uint32 languageId, _Out_ char16_t **description)',
  },
);

export const IBackgroundCopyJob = defineInterface('IBackgroundCopyJob', '37668D37-507E-4160-9316-26306D150B12', IUnknown, {
  AddFileSet: 'HRESULT (uint32 count, const BG_FILE_INFO *files)',
  AddFile: 'HRESULT (const char16_t *remoteUrl, const char16_t *localName)',
  EnumFiles: 'HRESULT (_Out_ void **enumFiles)',
  Suspend: 'HRESULT ()',
  Resume: 'HRESULT ()',
  Cancel: 'HRESULT ()',
  Complete: 'HRESULT ()',
  GetId: 'HRESULT (_Out_ GUID *id)',
  GetType: 'HRESULT (_Out_ int *type)',
  GetProgress: 'HRESULT (_Out_ BG_JOB_PROGRESS *progress)',
  GetTimes: 'HRESULT (_Out_ BG_JOB_TIMES *times)',
  GetState: 'HRESULT (_Out_ int *state)',
  GetError: 'HRESULT (_Out_ void **error)',
  GetOwner: 'HRESULT (_Out_ char16_t **owner)',
  SetDisplayName: 'HRESULT (const char16_t *name)',
  GetDisplayName: 'HRESULT (_Out_ char16_t **name)',
  SetDescription: 'HRESULT (const char16_t *description)',
  GetDescription: 'HRESULT (_Out_ char16_t **description)',
  SetPriority: 'HRESULT (int priority)',
  GetPriority: 'HRESULT (_Out_ int *priority)',
  SetNotifyFlags: 'HRESULT (uint32 flags)',
  GetNotifyFlags: 'HRESULT (_Out_ uint32 *flags)',
  SetNotifyInterface: 'HRESULT (void *notify)',
  GetNotifyInterface: 'HRESULT (_Out_ void **notify)',
  SetMinimumRetryDelay: 'HRESULT (uint32 seconds)',
  GetMinimumRetryDelay: 'HRESULT (_Out_ uint32 *seconds)',
  SetNoProgressTimeout: 'HRESULT (uint32 seconds)',
  GetNoProgressTimeout: 'HRESULT (_Out_ uint32 *seconds)',
  GetErrorCount: 'HRESULT (_Out_ uint32 *errors)',
  SetProxySettings: 'HRESULT (int usage, const char16_t *proxyList, const char16_t *proxyBypassList)',
  GetProxySettings: 'HRESULT (_Out_ int *usage, _Out_ char16_t **proxyList, _Out_ char16_t **proxyBypassList)',
  TakeOwnership: 'HRESULT ()',
});

/**
 * BITS 1.5 (bits1_5.h, slots 35-42): the notify command line, credentials, and the reply of an
 * upload-reply job. Delivery Optimization lacks it.
 */
export const IBackgroundCopyJob2 = defineInterface('IBackgroundCopyJob2', '54B50739-686F-45EB-9DFF-D6A9A0FAA9AF', IBackgroundCopyJob, {
  SetNotifyCmdLine: 'HRESULT (const char16_t *program, const char16_t *parameters)',
  GetNotifyCmdLine: 'HRESULT (_Out_ char16_t **program, _Out_ char16_t **parameters)',
  GetReplyProgress: 'HRESULT (_Out_ BG_JOB_REPLY_PROGRESS *progress)',
  GetReplyData: 'HRESULT (_Out_ void **buffer, _Out_ uint64 *length)',
  SetReplyFileName: 'HRESULT (const char16_t *replyFileName)',
  GetReplyFileName: 'HRESULT (_Out_ char16_t **replyFileName)',
  SetCredentials: 'HRESULT (const BG_AUTH_CREDENTIALS *credentials)',
  RemoveCredentials: 'HRESULT (int target, int scheme)',
});

/** BITS 2.0 (bits2_0.h, slots 43-46): remote prefix replacement, files with byte ranges, ACL flags for SMB copies. */
export const IBackgroundCopyJob3 = defineInterface('IBackgroundCopyJob3', '443C8934-90FF-48ED-BCDE-26F5C7450042', IBackgroundCopyJob2, {
  ReplaceRemotePrefix: 'HRESULT (const char16_t *oldPrefix, const char16_t *newPrefix)',
  AddFileWithRanges: 'HRESULT (const char16_t *remoteUrl, const char16_t *localName, uint32 rangeCount, const BG_FILE_RANGE *ranges)',
  SetFileACLFlags: 'HRESULT (uint32 flags)',
  GetFileACLFlags: 'HRESULT (_Out_ uint32 *flags)',
});

/** BITS 3.0 (bits3_0.h, slots 47-52): peer caching, the owner's integrity and elevation, the maximum download time. */
export const IBackgroundCopyJob4 = defineInterface('IBackgroundCopyJob4', '659CDEAE-489E-11D9-A9CD-000D56965251', IBackgroundCopyJob3, {
  SetPeerCachingFlags: 'HRESULT (uint32 flags)',
  GetPeerCachingFlags: 'HRESULT (_Out_ uint32 *flags)',
  GetOwnerIntegrityLevel: 'HRESULT (_Out_ uint32 *level)',
  GetOwnerElevationState: 'HRESULT (_Out_ int *elevated)',
  SetMaximumDownloadTime: 'HRESULT (uint32 seconds)',
  GetMaximumDownloadTime: 'HRESULT (_Out_ uint32 *seconds)',
});

/** BITS 5.0 (bits5_0.h, slots 53-54): job properties; SetProperty takes the value union BY VALUE. */
export const IBackgroundCopyJob5 = defineInterface('IBackgroundCopyJob5', 'E847030C-BBBA-4657-AF6D-484AA42BF1FE', IBackgroundCopyJob4, {
  SetProperty: 'HRESULT (int id, BITS_JOB_PROPERTY_VALUE value)',
  GetProperty: 'HRESULT (int id, _Out_ BITS_JOB_PROPERTY_VALUE *value)',
});

export const IBackgroundCopyError = defineInterface('IBackgroundCopyError', '19C613A0-FCB8-4F28-81AE-897C3D078F81', IUnknown, {
  GetError: 'HRESULT (_Out_ int *context, _Out_ HRESULT *code)',
  GetFile: 'HRESULT (_Out_ void **file)',
  GetErrorDescription: 'HRESULT (uint32 languageId, _Out_ char16_t **description)',
  GetErrorContextDescription: 'HRESULT (uint32 languageId, _Out_ char16_t **description)',
  GetProtocol: 'HRESULT (_Out_ char16_t **protocol)',
});

export const IBackgroundCopyFile = defineInterface('IBackgroundCopyFile', '01B7BD23-FB88-4A77-8490-5891D3E4653A', IUnknown, {
  GetRemoteName: 'HRESULT (_Out_ char16_t **name)',
  GetLocalName: 'HRESULT (_Out_ char16_t **name)',
  GetProgress: 'HRESULT (_Out_ BG_FILE_PROGRESS *progress)',
});

/** BITS 2.0 (bits2_0.h, slots 6-7): a file's ranges (the array is task memory), and moving it to another URL. */
export const IBackgroundCopyFile2 = defineInterface('IBackgroundCopyFile2', '83E81B93-0873-474D-8A8C-F2018B1A939C', IBackgroundCopyFile, {
  GetFileRanges: 'HRESULT (_Out_ uint32 *rangeCount, _Out_ void **ranges)',
  SetRemoteName: 'HRESULT (const char16_t *remoteName)',
});

/** BITS 3.0 (bits3_0.h, slots 8-11): the temporary file, content validation, and whether peers served it. */
export const IBackgroundCopyFile3 = defineInterface('IBackgroundCopyFile3', '659CDEAA-489E-11D9-A9CD-000D56965251', IBackgroundCopyFile2, {
  GetTemporaryName: 'HRESULT (_Out_ char16_t **name)',
  SetValidationState: 'HRESULT (int valid)',
  GetValidationState: 'HRESULT (_Out_ int *valid)',
  IsDownloadedFromPeer: 'HRESULT (_Out_ int *fromPeer)',
});

/** BITS 4.0 (bits4_0.h, slot 12): bytes from the origin server and from peers. */
export const IBackgroundCopyFile4 = defineInterface('IBackgroundCopyFile4', 'EF7E0655-7888-4960-B0E5-730846E03492', IBackgroundCopyFile3, {
  GetPeerDownloadStats: 'HRESULT (_Out_ uint64 *fromOrigin, _Out_ uint64 *fromPeers)',
});

/**
 * BITS 5.0 (bits5_0.h, slots 13-14): file properties. BITS_FILE_PROPERTY_VALUE is a union of one
 * LPWSTR, passed BY VALUE: the string pointer itself (the SDK header and windows-rs; Learn's page and
 * Vanara say a pointer to it, the reference notes).
 */
export const IBackgroundCopyFile5 = defineInterface('IBackgroundCopyFile5', '85C1657F-DAFC-40E8-8834-DF18EA25717E', IBackgroundCopyFile4, {
  SetProperty: 'HRESULT (int id, const char16_t *value)',
  GetProperty: 'HRESULT (int id, _Out_ char16_t **value)',
});

/** BITS 10.1 (bits10_1.h, slots 15-17): on-demand reads of a file while it downloads. */
export const IBackgroundCopyFile6 = defineInterface('IBackgroundCopyFile6', 'CF6784F7-D677-49FD-9368-CB47AEE9D1AD', IBackgroundCopyFile5, {
  UpdateDownloadPosition: 'HRESULT (uint64 offset)',
  RequestFileRanges: 'HRESULT (uint32 rangeCount, const BG_FILE_RANGE *ranges)',
  GetFilledFileRanges: 'HRESULT (_Out_ uint32 *rangeCount, _Out_ void **ranges)',
});

const enumerator = {
  Next: 'HRESULT (uint32 count, void **items, _Out_ uint32 *fetched)',
  Skip: 'HRESULT (uint32 count)',
  Reset: 'HRESULT ()',
  Clone: 'HRESULT (_Out_ void **clone)',
  GetCount: 'HRESULT (_Out_ uint32 *count)',
} as const;

export const IEnumBackgroundCopyJobs = defineInterface(
  'IEnumBackgroundCopyJobs',
  '1AF4F612-3B71-466F-8F58-7B6F73AC57AD',
  IUnknown,
  enumerator,
);

export const IEnumBackgroundCopyFiles = defineInterface(
  'IEnumBackgroundCopyFiles',
  'CA51E165-C365-424C-8D41-24AAA4FF3C40',
  IUnknown,
  enumerator,
);

export const IBackgroundCopyCallback = defineInterface(
  'IBackgroundCopyCallback',
  '97EA99C7-0186-4AD4-8DF9-C5B4E0ED6B22',
  IUnknown,
  {
    JobTransferred: 'HRESULT (void *job)',
    JobError: 'HRESULT (void *job, void *error)',
    JobModification: 'HRESULT (void *job, uint32 reserved)',
  },
);

export const IBackgroundCopyCallback2 = defineInterface(
  'IBackgroundCopyCallback2',
  '659CDEAC-489E-11D9-A9CD-000D56965251',
  IBackgroundCopyCallback,
  {
    FileTransferred: 'HRESULT (void *job, void *file)',
  },
);

/**
 * BITS 10.1 (bits10_1.h, slot 7): implemented by us. FileRangesTransferred reports the ranges of a file
 * completed since its last call; `ranges` belongs to the service and lives only during the call.
 */
export const IBackgroundCopyCallback3 = defineInterface(
  'IBackgroundCopyCallback3',
  '98C97BD2-E32B-4AD8-A528-95FD8B16BD42',
  IBackgroundCopyCallback2,
  {
    FileRangesTransferred: 'HRESULT (void *job, void *file, uint32 rangeCount, const BG_FILE_RANGE *ranges)',
  },
);

/** BITS 2.5: custom HTTP headers and client certificates (bits2_5.h). Delivery Optimization lacks it. */
export const IBackgroundCopyJobHttpOptions = defineInterface(
  'IBackgroundCopyJobHttpOptions',
  'F1BD1079-9F01-4BDC-8036-F09B70095066',
  IUnknown,
  {
    SetClientCertificateByID: 'HRESULT (int storeLocation, const char16_t *storeName, const uint8_t *certHashBlob)',
    SetClientCertificateByName: 'HRESULT (int storeLocation, const char16_t *storeName, const char16_t *subjectName)',
    RemoveClientCertificate: 'HRESULT ()',
    GetClientCertificate: 'HRESULT (_Out_ int *storeLocation, _Out_ char16_t **storeName, _Out_ void **certHashBlob, _Out_ char16_t **subjectName)',
    SetCustomHeaders: 'HRESULT (const char16_t *requestHeaders)',
    GetCustomHeaders: 'HRESULT (_Out_ char16_t **requestHeaders)',
    SetSecurityFlags: 'HRESULT (uint32 flags)',
    GetSecurityFlags: 'HRESULT (_Out_ uint32 *flags)',
  },
);

/** BITS 10.2 (bits10_2.h, slots 11-12): the HTTP method of the job's requests. */
export const IBackgroundCopyJobHttpOptions2 = defineInterface(
  'IBackgroundCopyJobHttpOptions2',
  'B591A192-A405-4FC3-8323-4C5C542578FC',
  IBackgroundCopyJobHttpOptions,
  {
    SetHttpMethod: 'HRESULT (const char16_t *method)',
    GetHttpMethod: 'HRESULT (_Out_ char16_t **method)',
  },
);

/** BITS 10.3 (bits10_3.h, slots 13-14): a server certificate validation callback, write-only custom headers. */
export const IBackgroundCopyJobHttpOptions3 = defineInterface(
  'IBackgroundCopyJobHttpOptions3',
  '8A9263D3-FD4C-4EDA-9B28-30132A4D4E3C',
  IBackgroundCopyJobHttpOptions2,
  {
    SetServerCertificateValidationInterface: 'HRESULT (void *callback)',
    MakeCustomHeadersWriteOnly: 'HRESULT ()',
  },
);

/** BITS 10.3 (bits10_3.h, slot 3): implemented by us, called by BITS with the server's certificate during the TLS handshake. */
export const IBackgroundCopyServerCertificateValidationCallback = defineInterface(
  'IBackgroundCopyServerCertificateValidationCallback',
  '4CEC0D02-DEF7-4158-813A-C32A46945FF7',
  IUnknown,
  {
    ValidateServerCertificate:
      'HRESULT (void *job, void *file, uint32 certLength, const uint8_t *certData, uint32 certEncodingType, uint32 certStoreLength, const uint8_t *certStoreData)',
  },
);
