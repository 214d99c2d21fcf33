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
  /** The interfaces it introduces, by name: what QueryInterface on an older service refuses. */
  readonly interfaces: readonly string[];
  /** What it adds to the one before, for people: its interfaces, then what they bring. */
  readonly adds: string;
}

function version(version: string, clsid: Guid, shipsIn: string, interfaces: readonly string[], brings?: string): BitsVersion {
  return { version, clsid, shipsIn, interfaces, adds: `${interfaces.join(', ')}${brings === undefined ? '' : ` (${brings})`}` };
}

/** Oldest first. 1.0 has no versioned id: the plain class id, which every version answers, stands for it. */
export const BITS_VERSIONS: readonly BitsVersion[] = [
  version('1.0', CLSID_BackgroundCopyManager, 'Windows XP, 2000 SP3', [
    'IBackgroundCopyManager',
    'IBackgroundCopyJob',
    'IBackgroundCopyFile',
    'IBackgroundCopyError',
    'IBackgroundCopyCallback',
    'IEnumBackgroundCopyJobs',
    'IEnumBackgroundCopyFiles',
  ]),
  version('1.5', parseGuid('F087771F-D74F-4C1A-BB8A-E16ACA9124EA'), 'Server 2003 (XP redistributable)', ['IBackgroundCopyJob2'], 'upload-reply jobs, credentials, notify command line'),
  version('2.0', parseGuid('6D18AD12-BDE3-4393-B311-099C346E6DF9'), 'XP SP2, Server 2003 SP1', ['IBackgroundCopyJob3', 'IBackgroundCopyFile2'], 'file ranges'),
  version('2.5', parseGuid('03CA98D6-FF5D-49B8-ABC6-03DD84127020'), 'Vista, Server 2008, XP SP3', ['IBackgroundCopyJobHttpOptions'], 'custom headers, client certificates'),
  version('3.0', parseGuid('659CDEA7-489E-11D9-A9CD-000D56965251'), 'Vista, Server 2008', ['IBackgroundCopyJob4', 'IBackgroundCopyFile3', 'IBackgroundCopyCallback2'], 'FileTransferred, redirect flags'),
  version('4.0', parseGuid('BB6DF56B-CACE-11DC-9992-0019B93A3A84'), 'Windows 7, Server 2008 R2', ['IBackgroundCopyFile4', 'IBitsTokenOptions'], 'BranchCache'),
  version('5.0', parseGuid('1ECCA34C-E88A-44E3-8D6A-8921BDE9E452'), 'Windows 8, Server 2012', ['IBackgroundCopyJob5', 'IBackgroundCopyFile5'], 'job properties, cost flags'),
  version('10.1', parseGuid('4BD3E4E1-7BD4-4A2B-9964-496400DE5193'), 'Windows 10 1703', ['IBackgroundCopyFile6', 'IBackgroundCopyCallback3'], 'FileRangesTransferred'),
  version('10.2', parseGuid('4575438F-A6C8-4976-B0FE-2F26B80D959E'), 'Windows 10 1809', ['IBackgroundCopyJobHttpOptions2'], 'HTTP method'),
  version('10.3', parseGuid('5FD42AD5-C04E-4D36-ADC7-E08FF15737AD'), 'Windows 10 1903', ['IBackgroundCopyJobHttpOptions3'], 'server certificate validation callback'),
];

/** The version that introduced an interface, e.g. '2.5' for IBackgroundCopyJobHttpOptions; undefined for one BITS does not define. */
export function introducedIn(interfaceName: string): BitsVersion | undefined {
  return BITS_VERSIONS.find((entry) => entry.interfaces.includes(interfaceName));
}

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
