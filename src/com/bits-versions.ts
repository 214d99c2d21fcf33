import { parseGuid, type Guid } from './guid.js';
import { CLSID_BackgroundCopyManager } from './interfaces.js';

/**
 * BITS's versioned class ids (the reference's "Versions and CLSIDs", from the SDK's bits1_5.h ...
 * bits10_3.h): each names the same job manager, and CoCreateInstance answers REGDB_E_CLASSNOTREG for
 * a version this machine does not have, so the newest one that answers is the newest BITS installed.
 * The library itself needs none of them (it uses CLSID_BackgroundCopyManager and QueryInterface);
 * `rx-bits doctor` and the loopback service read this table, the one place the ids are written.
 */
export interface BitsVersion {
  /** '1.0', '1.5', ... '10.3'. */
  readonly version: string;
  /** CLSID_BackgroundCopyManagerX_Y; for 1.0, the plain CLSID_BackgroundCopyManager. */
  readonly clsid: Guid;
  /** The first Windows releases that have it. */
  readonly shipsIn: string;
  /** What it adds to the one before. */
  readonly adds: string;
}

/** Oldest first. 1.0 has no versioned id: the plain class id, which every version answers, stands for it. */
export const BITS_VERSIONS: readonly BitsVersion[] = [
  { version: '1.0', clsid: CLSID_BackgroundCopyManager, shipsIn: 'Windows XP, 2000 SP3', adds: 'IBackgroundCopyManager, Job, File, Error, Callback' },
  { version: '1.5', clsid: parseGuid('F087771F-D74F-4C1A-BB8A-E16ACA9124EA'), shipsIn: 'Server 2003 (XP redistributable)', adds: 'IBackgroundCopyJob2 (upload-reply jobs, credentials, notify command line)' },
  { version: '2.0', clsid: parseGuid('6D18AD12-BDE3-4393-B311-099C346E6DF9'), shipsIn: 'XP SP2, Server 2003 SP1', adds: 'IBackgroundCopyJob3, IBackgroundCopyFile2, file ranges' },
  { version: '2.5', clsid: parseGuid('03CA98D6-FF5D-49B8-ABC6-03DD84127020'), shipsIn: 'Vista, Server 2008, XP SP3', adds: 'IBackgroundCopyJobHttpOptions (custom headers, client certificates)' },
  { version: '3.0', clsid: parseGuid('659CDEA7-489E-11D9-A9CD-000D56965251'), shipsIn: 'Vista, Server 2008', adds: 'IBackgroundCopyJob4, IBackgroundCopyFile3, IBackgroundCopyCallback2 (FileTransferred), redirect flags' },
  { version: '4.0', clsid: parseGuid('BB6DF56B-CACE-11DC-9992-0019B93A3A84'), shipsIn: 'Windows 7, Server 2008 R2', adds: 'IBackgroundCopyFile4, IBitsTokenOptions, BranchCache' },
  { version: '5.0', clsid: parseGuid('1ECCA34C-E88A-44E3-8D6A-8921BDE9E452'), shipsIn: 'Windows 8, Server 2012', adds: 'IBackgroundCopyJob5, IBackgroundCopyFile5, job properties, cost flags' },
  { version: '10.1', clsid: parseGuid('4BD3E4E1-7BD4-4A2B-9964-496400DE5193'), shipsIn: 'Windows 10 1703', adds: 'IBackgroundCopyFile6, IBackgroundCopyCallback3 (FileRangesTransferred)' },
  { version: '10.2', clsid: parseGuid('4575438F-A6C8-4976-B0FE-2F26B80D959E'), shipsIn: 'Windows 10 1809', adds: 'IBackgroundCopyJobHttpOptions2 (HTTP method)' },
  { version: '10.3', clsid: parseGuid('5FD42AD5-C04E-4D36-ADC7-E08FF15737AD'), shipsIn: 'Windows 10 1903', adds: 'IBackgroundCopyJobHttpOptions3 (server certificate validation callback)' },
];

/** The entry of a version, e.g. '10.3'; undefined for one that does not exist. */
export function bitsVersion(version: string): BitsVersion | undefined {
  return BITS_VERSIONS.find((entry) => entry.version === version);
}

/** The versions up to and including `newest`, oldest first; an unknown version is a RangeError. */
export function bitsVersionsThrough(newest: string): readonly BitsVersion[] {
  const index = BITS_VERSIONS.findIndex((entry) => entry.version === newest);
  if (index < 0) throw new RangeError(`unknown BITS version '${newest}'; expected one of ${BITS_VERSIONS.map((entry) => entry.version).join(', ')}`);
  return BITS_VERSIONS.slice(0, index + 1);
}
