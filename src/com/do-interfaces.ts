import './do-native-types.js';
import { defineInterface } from './interface-table.js';
import { IUnknown } from './interfaces.js';

/*
 * Delivery Optimization's own COM API (deliveryoptimization.h, SDK 10.0.22621 and later; shipped in
 * Windows 10 1809): the interfaces every public DO client uses (winget's DODownloader, do-client,
 * the DO team's .NET sample). Declaration order is slot order; test/interfaces.test.ts checks each
 * table against the slot list in do-com.md. CLSID_DeliveryOptimization lives in interfaces.ts.
 */

/** The standard enumerator of IUnknown pointers, as EnumDownloads hands it out. */
export const IEnumUnknown = defineInterface('IEnumUnknown', '00000100-0000-0000-C000-000000000046', IUnknown, {
  Next: 'HRESULT (uint32 count, void **items, _Out_ uint32 *fetched)',
  Skip: 'HRESULT (uint32 count)',
  Reset: 'HRESULT ()',
  Clone: 'HRESULT (_Out_ void **clone)',
});

/** The class's only interface: it has no SetProperty of its own; every property is a download's. */
export const IDOManager = defineInterface('IDOManager', '400E2D4A-1431-4C1A-A748-39CA472CFDB1', IUnknown, {
  CreateDownload: 'HRESULT (_Out_ void **download)',
  EnumDownloads: 'HRESULT (const DO_DOWNLOAD_ENUM_CATEGORY *category, _Out_ void **enumDownloads)',
});

/** One download of one file. */
export const IDODownload = defineInterface('IDODownload', 'FBBD7FC0-C147-4727-A38D-827EF071EE77', IUnknown, {
  Start: 'HRESULT (const DO_DOWNLOAD_RANGES_INFO *ranges)',
  Pause: 'HRESULT ()',
  Abort: 'HRESULT ()',
  Finalize: 'HRESULT ()',
  GetStatus: 'HRESULT (_Out_ DO_DOWNLOAD_STATUS *status)',
  GetProperty: 'HRESULT (int propId, _Out_ VARIANT *value)',
  SetProperty: 'HRESULT (int propId, const VARIANT *value)',
});

/** What we implement: DO calls it on its own threads (hosted by the receiver thread, receiver-thread.ts). */
export const IDODownloadStatusCallback = defineInterface('IDODownloadStatusCallback', 'D166E8E3-A90E-4392-8E87-05E996D3747D', IUnknown, {
  OnStatusChange: 'HRESULT (void *download, const DO_DOWNLOAD_STATUS *status)',
});

/** DODownloadState, in native order. */
export const DO_STATES = ['created', 'transferring', 'transferred', 'finalized', 'aborted', 'paused'] as const;
export type DoState = (typeof DO_STATES)[number];

/** DODownloadCostPolicy, in native order ('noCellular' is deprecated by the SDK in favour of DisallowOnCellular). */
export const DO_COST_POLICIES = ['always', 'unrestricted', 'standard', 'noRoaming', 'noSurcharge', 'noCellular'] as const;
export type DoCostPolicy = (typeof DO_COST_POLICIES)[number];

/** A DODownloadProperty's VARIANT type. */
export type DoPropertyType = 'bstr' | 'ui4' | 'ui8' | 'bool' | 'unknown' | 'bytes';

export interface DoPropertyInfo {
  readonly id: number;
  readonly type: DoPropertyType;
  /** R: SetProperty answers DO_E_READ_ONLY_PROPERTY; W: GetProperty answers DO_E_WRITE_ONLY_PROPERTY. */
  readonly access: 'R' | 'W' | 'RW';
  /** The first Windows build whose IDODownload takes it (do-com.md; 26100 for 26–29 is an inference). */
  readonly since: number;
}

const p = <T extends DoPropertyType, A extends DoPropertyInfo['access']>(id: number, type: T, access: A, since: number) =>
  ({ id, type, access, since }) as const;

/** DODownloadProperty, by its SDK name without the `DODownloadProperty_` prefix. */
export const DO_PROPERTIES = {
  Id: p(0, 'bstr', 'R', 17763),
  Uri: p(1, 'bstr', 'RW', 17763),
  ContentId: p(2, 'bstr', 'RW', 17763),
  DisplayName: p(3, 'bstr', 'RW', 17763),
  LocalPath: p(4, 'bstr', 'RW', 17763),
  HttpCustomHeaders: p(5, 'bstr', 'RW', 17763),
  CostPolicy: p(6, 'ui4', 'RW', 17763),
  SecurityFlags: p(7, 'ui4', 'W', 17763),
  CallbackFreqPercent: p(8, 'ui4', 'RW', 17763),
  CallbackFreqSeconds: p(9, 'ui4', 'RW', 17763),
  NoProgressTimeoutSeconds: p(10, 'ui4', 'RW', 17763),
  ForegroundPriority: p(11, 'bool', 'RW', 17763),
  BlockingMode: p(12, 'bool', 'RW', 17763),
  CallbackInterface: p(13, 'unknown', 'RW', 17763),
  StreamInterface: p(14, 'unknown', 'RW', 17763),
  SecurityContext: p(15, 'bytes', 'W', 17763),
  NetworkToken: p(16, 'bool', 'W', 17763),
  CorrelationVector: p(17, 'bstr', 'RW', 19041),
  DecryptionInfo: p(18, 'bstr', 'W', 19041),
  IntegrityCheckInfo: p(19, 'bstr', 'W', 19041),
  IntegrityCheckMandatory: p(20, 'bool', 'RW', 19041),
  TotalSizeBytes: p(21, 'ui8', 'RW', 19041),
  DisallowOnCellular: p(22, 'bool', 'RW', 22000),
  HttpCustomAuthHeaders: p(23, 'bstr', 'RW', 22000),
  HttpAllowSecureToNonSecureRedirect: p(24, 'bool', 'RW', 22621),
  NonVolatile: p(25, 'bool', 'RW', 22621),
  HttpRedirectionTarget: p(26, 'bstr', 'R', 26100),
  HttpResponseHeaders: p(27, 'bstr', 'R', 26100),
  HttpServerIPAddress: p(28, 'bstr', 'R', 26100),
  HttpStatusCode: p(29, 'ui4', 'R', 26100),
} as const satisfies Readonly<Record<string, DoPropertyInfo>>;
export type DoPropertyName = keyof typeof DO_PROPERTIES;

/** `DO_LENGTH_TO_EOF`: a range's length meaning "to the end of the file". */
export const DO_LENGTH_TO_EOF = 0xffffffffffffffffn;
