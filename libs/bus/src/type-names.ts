import * as proto from '@plex86/proto';

/** The protobuf package of every message `@plex86/proto` exports. */
export const PROTO_PACKAGE = 'plex86.v1';

let namesByCodec: WeakMap<object, string> | null = null;

function isCodec(value: unknown): value is object {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { encode?: unknown }).encode === 'function' &&
    typeof (value as { decode?: unknown }).decode === 'function'
  );
}

/**
 * The fully qualified protobuf type name of a ts-proto message codec, '' when it is not known: the
 * codec's `$type` when the generator emitted one, else its export name in `@plex86/proto` (ts-proto
 * names nested messages `Outer_Inner`, i.e. `plex86.v1.Outer.Inner`).
 */
export function protoTypeName(codec: object): string {
  const own = (codec as { $type?: unknown }).$type;
  if (typeof own === 'string') return own;
  if (namesByCodec === null) {
    const names = new WeakMap<object, string>();
    for (const [exportName, value] of Object.entries(proto)) {
      if (isCodec(value)) names.set(value, `${PROTO_PACKAGE}.${exportName.replace(/_/g, '.')}`);
    }
    namesByCodec = names;
  }
  return namesByCodec.get(codec) ?? '';
}
