import koffi, { type TypeObject } from 'koffi';
import { parseGuid, type Guid } from './guid.js';
import type { Pointer } from './native-types.js';
import './native-types.js';

/**
 * COM interfaces declared as data, in the manner of windows-rs and Wine's IDL: an IID and the
 * methods in slot order, each with its C prototype. Callers name a method; the slot number is
 * derived from the declaration order and the base interface, and written nowhere else.
 */

/** `HRESULT (const char16_t *name, _Out_ void **job)`: return type and parameters, without `this`. */
export type MethodSignature = string;

/** An interface's prototypes by method name, inherited ones included. */
export type Declarations = Readonly<Record<string, MethodSignature>>;

/*
 * The signature strings are parsed again at the type level, so that a call with the wrong arguments,
 * or a handler expecting the wrong ones, does not compile. Each C type the tables use is mapped here
 * to what koffi accepts for it on a call and what it hands a callback; a prototype with a type this
 * table does not know is a compile error at its `defineInterface`, so a new interface cannot slip
 * through untyped.
 */

/** What AddFileSet passes for `const BG_FILE_INFO *` (koffi encodes the array). */
export interface FileInfoArg {
  readonly RemoteName: string;
  readonly LocalName: string;
}

/** BITS_JOB_PROPERTY_VALUE by value: its 16 bytes as two little-endian words (koffi hands a uint64 over as a number while safe). */
export interface PropertyValueWords {
  readonly lo: number | bigint;
  readonly hi: number | bigint;
}

/**
 * `[call, handler]` for each C parameter type, spelled as in the tables. An out-parameter is a
 * caller's buffer (koffi writes through it); a handler receives every pointer as an address (NULL as
 * null), and `const char16_t *` already decoded. A non-pointer type is matched only when followed by
 * a space (or nothing), so `int` does not match `int32`.
 */
interface CTypes {
  int: [number, number];
  uint32: [number, number];
  HRESULT: [number, number];
  // koffi hands a 64-bit integer over as a number while it is safe, as a BigInt beyond.
  uint64: [number | bigint, number | bigint];
  // Built in native memory by the caller (credentials.ts), so the secrets never pass through a copy koffi makes.
  'const BG_AUTH_CREDENTIALS *': [Pointer, Pointer | null];
  'void *': [Pointer | null, Pointer | null];
  'void **': [Buffer, Pointer | null];
  'const char16_t *': [string | null, string | null];
  'const GUID *': [Buffer, Pointer | null];
  'const uint8_t *': [Buffer | null, Pointer | null];
  'const BG_FILE_INFO *': [readonly FileInfoArg[], Pointer | null];
  '_Out_ int *': [Buffer, Pointer | null];
  '_Out_ uint32 *': [Buffer, Pointer | null];
  '_Out_ HRESULT *': [Buffer, Pointer | null];
  '_Out_ GUID *': [Buffer, Pointer | null];
  '_Out_ BG_JOB_PROGRESS *': [Buffer, Pointer | null];
  '_Out_ BG_JOB_TIMES *': [Buffer, Pointer | null];
  '_Out_ BG_FILE_PROGRESS *': [Buffer, Pointer | null];
  '_Out_ BG_JOB_REPLY_PROGRESS *': [Buffer, Pointer | null];
  '_Out_ uint64 *': [Buffer, Pointer | null];
  '_Out_ char16_t **': [Buffer, Pointer | null];
  '_Out_ void **': [Buffer, Pointer | null];
  // bits2_0.h / bits5_0.h: an array of BG_FILE_RANGE encoded by the caller (file-ranges.ts), and the
  // property union passed by value as two 64-bit words (native-types.ts).
  'const BG_FILE_RANGE *': [Buffer, Pointer | null];
  BITS_JOB_PROPERTY_VALUE: [PropertyValueWords, PropertyValueWords];
  '_Out_ BITS_JOB_PROPERTY_VALUE *': [Buffer, Pointer | null];
  // Delivery Optimization's own API (do-interfaces.ts): structures passed in caller-owned buffers.
  'const DO_DOWNLOAD_RANGES_INFO *': [Buffer | null, Pointer | null];
  'const DO_DOWNLOAD_ENUM_CATEGORY *': [Buffer | null, Pointer | null];
  '_Out_ DO_DOWNLOAD_STATUS *': [Buffer, Pointer | null];
  'const DO_DOWNLOAD_STATUS *': [Buffer, Pointer | null];
  '_Out_ VARIANT *': [Buffer, Pointer | null];
  'const VARIANT *': [Buffer, Pointer | null];
}

/** A C parameter type the tables may use, as written there without the parameter's name. */
export type CType = keyof CTypes;

type Trim<S extends string> = S extends ` ${infer T}` ? Trim<T> : S extends `${infer T} ` ? Trim<T> : S;

/** A parameter name: empty (C allows that) or one word. */
type IsName<N extends string> = N extends `${string}${' ' | '*'}${string}` ? false : true;

/** The C type of one parameter, its name dropped; never when the table above does not know it. */
type ParamType<P extends string> = {
  [K in CType]: P extends `${K}${infer N}`
    ? K extends `${string}*`
      ? IsName<N> extends true
        ? K
        : never
      : N extends ''
        ? K
        : N extends ` ${infer Name}`
          ? IsName<Name> extends true
            ? K
            : never
          : never
    : never;
}[CType];

type SplitParams<P extends string> = P extends `${infer H},${infer T}` ? [Trim<H>, ...SplitParams<T>] : [Trim<P>];

/** The parameters of a signature, each as written (type and name). */
type Params<S extends string> = S extends `${string}(${infer P})` ? (Trim<P> extends '' ? [] : SplitParams<P>) : never;

/** The C types of a signature's parameters, names dropped. */
type ParamTypes<S extends string> = Params<S> extends infer T extends string[] ? { [I in keyof T]: ParamType<T[I]> } : never;

type Mapped<S extends string, Side extends 0 | 1> =
  Params<S> extends infer T extends string[] ? { [I in keyof T]: CTypes[ParamType<T[I]>][Side] } : never;

/**
 * The arguments a call passes, after `this`. A signature known only as `string` (a method chosen at
 * run time, or code generic over interfaces) has nothing to check against and takes any arguments.
 */
export type CallArgs<S extends MethodSignature> = string extends S ? readonly unknown[] : Mapped<S, 0>;

/** The arguments a handler of one of our COM objects receives, after `this`. */
export type HandlerArgs<S extends MethodSignature> = string extends S ? readonly unknown[] : Mapped<S, 1>;

/** The parameters of a signature whose C type is unknown (never when there is none). */
type UnknownParams<T extends string[]> = { [I in keyof T]: [ParamType<T[I]>] extends [never] ? T[I] : never }[number];

/** The signature itself if it parses, else a message naming what does not: shown where the table is. */
type Checked<S extends string> = S extends `${infer R} (${string})`
  ? R extends 'HRESULT' | 'uint32'
    ? [UnknownParams<Params<S>>] extends [never]
      ? S
      : `no C type mapping for '${UnknownParams<Params<S>>}' (add it to CTypes in interface-table.ts)`
    : `unknown return type '${R}'`
  : 'malformed signature: expected `RESULT (parameters)`';

export interface ComMethod<S extends MethodSignature = MethodSignature> {
  readonly interfaceName: string;
  readonly name: string;
  readonly slot: number;
  readonly signature: S;
  /**
   * The koffi prototype with the leading `void *self`, created on first use. Internal: koffi's typings
   * are ESM-only, and a CommonJS consumer's type check must not have to load them.
   * @internal
   */
  readonly proto: TypeObject;
  /** Whether the method answers an HRESULT (everything but AddRef/Release). */
  readonly returnsHresult: boolean;
}

export interface ComInterface<D extends Declarations = Declarations> {
  readonly name: string;
  readonly iid: Guid;
  readonly base: ComInterface | undefined;
  /** Every method, inherited ones first, indexed by slot. */
  readonly methods: readonly ComMethod[];
  /** Every method's prototype by name, inherited ones included: the tables as written, and what the types are read from. */
  readonly declarations: D;
  method<K extends keyof D & string>(name: K): ComMethod<D[K]>;
  /** This interface's IID and those of its bases: what QueryInterface on an implementation accepts. */
  readonly iids: readonly Guid[];
}

/** The method names of an interface (inherited ones included). */
export type MethodsOf<I extends ComInterface> = keyof I['declarations'] & string;

/** The prototype of one method of an interface. */
export type SignatureOf<I extends ComInterface, K extends MethodsOf<I>> = I['declarations'][K];

/** The methods of an interface whose parameters are exactly these C types, e.g. `['_Out_ int *']`. */
export type MethodsTaking<I extends ComInterface, P extends readonly CType[]> = {
  [K in MethodsOf<I>]: [ParamTypes<SignatureOf<I, K>>, P] extends [P, ParamTypes<SignatureOf<I, K>>] ? K : never;
}[MethodsOf<I>];

const SIGNATURE = /^\s*(.+?)\s*\((.*)\)\s*$/;

function makeMethod(interfaceName: string, name: string, slot: number, signature: MethodSignature): ComMethod {
  const parts = SIGNATURE.exec(signature);
  if (parts?.[1] === undefined || parts[2] === undefined) {
    throw new SyntaxError(`${interfaceName}::${name}: malformed signature '${signature}'`);
  }
  const [, result, params] = parts;
  const protoName = `${interfaceName}_${name}`;
  let proto: TypeObject | undefined;
  return {
    interfaceName,
    name,
    slot,
    signature,
    returnsHresult: result === 'HRESULT',
    get proto() {
      if (proto === undefined) {
        const self = params.trim() === '' ? 'void *self' : `void *self, ${params}`;
        try {
          proto = koffi.type(protoName);
        } catch {
          // __stdcall matters only on 32-bit Windows; koffi ignores it everywhere else.
          proto = koffi.proto(`${result} __stdcall ${protoName}(${self})`);
        }
      }
      return proto;
    },
  };
}

/** A base's declarations followed by an interface's own (COM has no overriding: the names are distinct). */
type Extended<B extends Declarations, D extends Declarations> = {
  readonly [K in keyof B | keyof D]: Extract<K extends keyof D ? D[K] : K extends keyof B ? B[K] : never, string>;
};

/**
 * Declares an interface. Each prototype is checked against the C types the type layer knows (the
 * constraint on D): one it cannot parse fails to compile here, with a message saying what is missing.
 */
export function defineInterface<
  const D extends Declarations & { readonly [K in keyof D]: Checked<Extract<D[K], string>> },
  B extends Declarations = Record<never, never>,
>(
  name: string,
  iid: string,
  base: ComInterface<B> | undefined,
  declarations: D,
): ComInterface<Extended<B, D>> {
  const inherited = base?.methods ?? [];
  const own = Object.entries(declarations).map(([method, signature], index) =>
    makeMethod(name, method, inherited.length + index, signature),
  );
  const methods = [...inherited, ...own];
  const byName = new Map(methods.map((m) => [m.name, m]));
  const parsedIid = parseGuid(iid, `${name} IID`);
  const table: ComInterface = {
    name,
    iid: parsedIid,
    base,
    methods,
    declarations: { ...base?.declarations, ...declarations },
    iids: [parsedIid, ...(base?.iids ?? [])],
    method(methodName) {
      const found = byName.get(methodName);
      if (found === undefined) throw new TypeError(`${name} has no method ${methodName}`);
      return found;
    },
  };
  // The one place the literal prototypes meet the values built from them: each method was made from
  // exactly the declaration its name indexes, which the type system cannot follow through the Map.
  return table as ComInterface<Extended<B, D>>;
}
