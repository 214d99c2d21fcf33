import koffi, { type TypeObject } from 'koffi';
import { parseGuid, type Guid } from './guid.js';
import './native-types.js';

/**
 * COM interfaces declared as data, in the manner of windows-rs and Wine's IDL: an IID and the
 * methods in slot order, each with its C prototype. Callers name a method; the slot number is
 * derived from the declaration order and the base interface, and written nowhere else.
 */

/** `HRESULT (const char16_t *name, _Out_ void **job)`: return type and parameters, without `this`. */
export type MethodSignature = string;

export interface ComMethod {
  readonly interfaceName: string;
  readonly name: string;
  readonly slot: number;
  readonly signature: MethodSignature;
  /**
   * The koffi prototype with the leading `void *self`, created on first use. Internal: koffi's typings
   * are ESM-only, and a CommonJS consumer's type check must not have to load them.
   * @internal
   */
  readonly proto: TypeObject;
  /** Whether the method answers an HRESULT (everything but AddRef/Release). */
  readonly returnsHresult: boolean;
}

export interface ComInterface<M extends string = string> {
  readonly name: string;
  readonly iid: Guid;
  readonly base: ComInterface | undefined;
  /** Every method, inherited ones first, indexed by slot. */
  readonly methods: readonly ComMethod[];
  method(name: M): ComMethod;
  /** This interface's IID and those of its bases: what QueryInterface on an implementation accepts. */
  readonly iids: readonly Guid[];
}

/** The method names of an interface (inherited ones included). */
export type MethodsOf<I> = I extends ComInterface<infer M> ? M : never;

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

export function defineInterface<const D extends Record<string, MethodSignature>, BM extends string = never>(
  name: string,
  iid: string,
  base: ComInterface<BM> | undefined,
  declarations: D,
): ComInterface<BM | (keyof D & string)> {
  const inherited = base?.methods ?? [];
  const own = Object.entries(declarations).map(([method, signature], index) =>
    makeMethod(name, method, inherited.length + index, signature),
  );
  const methods = [...inherited, ...own];
  const byName = new Map(methods.map((m) => [m.name, m]));
  const parsedIid = parseGuid(iid, `${name} IID`);
  return {
    name,
    iid: parsedIid,
    base,
    methods,
    iids: [parsedIid, ...(base?.iids ?? [])],
    method(methodName) {
      const found = byName.get(methodName);
      if (found === undefined) throw new TypeError(`${name} has no method ${methodName}`);
      return found;
    },
  };
}
