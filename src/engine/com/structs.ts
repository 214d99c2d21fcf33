import koffi from 'koffi';
import { BG_FILE_PROGRESS, BG_JOB_PROGRESS, BG_JOB_TIMES, BG_SIZE_UNKNOWN, type Pointer } from '../../com/native-types.js';

/**
 * The BITS structures a service written in JavaScript fills in for its caller (the portable engine,
 * and the tests' loopback service): written once, from plain numbers and dates.
 */

export interface FileProgressFields {
  readonly bytesTotal: number | undefined;
  readonly bytesTransferred: number;
  readonly completed: boolean;
}

export function writeFileProgress(out: Pointer, file: FileProgressFields): void {
  koffi.encode(out, BG_FILE_PROGRESS, {
    BytesTotal: file.bytesTotal === undefined ? BG_SIZE_UNKNOWN : BigInt(file.bytesTotal),
    BytesTransferred: BigInt(file.bytesTransferred),
    Completed: file.completed ? 1 : 0,
  });
}

/** A job's progress is its files': the total is unknown while any file's is. */
export function writeJobProgress(out: Pointer, files: readonly FileProgressFields[]): void {
  const known = files.every((file) => file.bytesTotal !== undefined);
  koffi.encode(out, BG_JOB_PROGRESS, {
    BytesTotal: known ? BigInt(files.reduce((sum, file) => sum + (file.bytesTotal ?? 0), 0)) : BG_SIZE_UNKNOWN,
    BytesTransferred: BigInt(files.reduce((sum, file) => sum + file.bytesTransferred, 0)),
    FilesTotal: files.length,
    FilesTransferred: files.filter((file) => file.completed).length,
  });
}

/** A Date as FILETIME (100 ns ticks since 1601-01-01); undefined is 0, "never". */
function fileTime(date: Date | undefined): { dwLowDateTime: number; dwHighDateTime: number } {
  if (date === undefined) return { dwLowDateTime: 0, dwHighDateTime: 0 };
  const ticks = (BigInt(date.getTime()) + 11644473600000n) * 10000n;
  return { dwLowDateTime: Number(ticks & 0xffffffffn), dwHighDateTime: Number(ticks >> 32n) };
}

export function writeJobTimes(out: Pointer, created: Date, modified: Date, transferCompleted: Date | undefined): void {
  koffi.encode(out, BG_JOB_TIMES, {
    CreationTime: fileTime(created),
    ModificationTime: fileTime(modified),
    TransferCompletionTime: fileTime(transferCompleted),
  });
}
