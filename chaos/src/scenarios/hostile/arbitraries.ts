import fc from 'fast-check';

/**
 * Hostile values for the API's bodies, headers, query strings and paths. Everything a client
 * could send by mistake or on purpose: wrong types, huge strings, deep nesting, the unicode
 * that breaks storage or display (NUL, lone surrogates, RTL overrides, emoji sequences, BOMs,
 * combining marks), JSON's own edge cases, and shapes that look almost valid.
 */

export const EDGE_STRINGS = [
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\ud83d',
  '\udc00x',
  '\u202eevil.wav\u202c',
  '\u200f\u05e9\u05dc\u05d5\u05dd',
  '👩‍👩‍👧‍👦',
  '🏳️‍🌈🇯🇵',
  '\ufeffBOM',
  'e\u0301\u0301\u0301',
  '𝕍𝕆𝕏',
  '\u2028\u2029',
  '\\',
  '"',
  "'; drop table clone_jobs; --",
  '../../etc/passwd',
  '%00',
  '%ff%fe',
  '\r\nX-Injected: 1',
  'null',
  '{}',
  '__proto__',
  'constructor',
  'vxl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  '1e309',
  '-0',
  'NaN',
  '2024-02-30T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59-23:59',
];

const hugeString = fc
  .constantFrom(101, 257, 2_049, 10_001, 70_000, 1_000_000)
  .map((n) => 'x'.repeat(n));

export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_STRINGS) },
  { weight: 1, arbitrary: hugeString },
);

const anyNumber = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: false }),
  fc.constantFrom(2 ** 31, 2 ** 53 + 1, -1, 0.5, 1e308, -1e308, 5e-324),
);

export const scalar: fc.Arbitrary<unknown> = fc.oneof(
  anyString,
  anyNumber,
  fc.boolean(),
  fc.constant(null),
);

/** Arrays and objects `depth` levels deep: past every limit the API sets (16 for metadata). */
export function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

// JSON.stringify itself recurses (about 4,000 levels on node 20's stack): deeper nesting is
// sent as text by `deepJsonText` below.
const deep = fc
  .record({
    depth: fc.constantFrom(17, 100, 1_000, 3_000),
    kind: fc.constantFrom('array' as const, 'object' as const),
  })
  .map(({ depth, kind }) => nested(depth, kind));

export const anyKey = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('__proto__', 'constructor', 'prototype', '', 'text ', 'TEXT', 'text\u0000'),
);

/** Any JSON value, shallow most of the time, sometimes absurdly deep. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        scalar,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(anyKey, tie('value'), { maxKeys: 4 }),
      ),
    })).value,
  },
  { weight: 1, arbitrary: deep },
);

type Path = Array<string | number>;

function setAt(target: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [string | number, ...Path];
  const container = (
    Array.isArray(target)
      ? [...target]
      : target !== null && typeof target === 'object'
        ? { ...(target as Record<string, unknown>) }
        : {}
  ) as Record<string | number, unknown>;
  if (rest.length === 0 && remove) delete container[head];
  else container[head] = setAt(container[head], rest, value, remove);
  return container;
}

/**
 * A valid body bent out of shape: a field replaced by a hostile value or removed, an unknown
 * field added (at the top or inside), or the whole body replaced. Valid bodies come through
 * now and then too, so the property also covers what is accepted.
 */
export function mutatedBody(valid: unknown, paths: Path[]): fc.Arbitrary<unknown> {
  const path = fc.constantFrom(...paths);
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(path, anyValue).map(([p, v]) => setAt(valid, p, v, false)) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom<Path>([], ...paths), anyKey, anyValue)
        .map(([p, k, v]) => setAt(valid, [...p, k], v, false)),
    },
    { weight: 1, arbitrary: path.map((p) => setAt(valid, p, undefined, true)) },
    { weight: 1, arbitrary: anyValue },
    { weight: 1, arbitrary: fc.constant(valid) },
  );
}

/** JSON text nested `depth` levels deep, optionally with a `__proto__` key at the bottom. */
export function deepJsonText(depth: number, kind: 'array' | 'object', proto: boolean): string {
  const bottom = proto ? '{"__proto__":{"admin":true}}' : '"bottom"';
  return kind === 'array'
    ? `${'['.repeat(depth)}${bottom}${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}${bottom}${'}'.repeat(depth)}`;
}

const deepText = fc
  .record({
    depth: fc.constantFrom(5_000, 100_000, 1_000_000),
    kind: fc.constantFrom('array' as const, 'object' as const),
    proto: fc.boolean(),
  })
  .map(({ depth, kind, proto }) => deepJsonText(depth, kind, proto));

/** Text that is not JSON, or JSON damaged in the ways proxies and buggy clients damage it. */
export function brokenJson(valid: unknown): fc.Arbitrary<string | Buffer> {
  const text = JSON.stringify(valid);
  return fc.oneof(
    fc.integer({ min: 0, max: Math.max(0, text.length - 1) }).map((n) => text.slice(0, n)),
    fc.constant(text.replace('{"', '{')),
    fc.constant(`${text}${text}`),
    fc.constant(`${text},`),
    fc.constant(`{"__proto__":{"admin":true},${text.slice(1)}`),
    fc.constant(`{"constructor":{"prototype":{"admin":true}},${text.slice(1)}`),
    fc.constant(text.replace(/"([a-z_]+)":/, "'$1':")),
    fc.constantFrom('', ' ', 'null', 'undefined', 'NaN', '[', '{', '"', '\u0000', '\ufeff{}'),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
    deepText,
  );
}

/** How a string gets into a URL: percent-encoded UTF-8, plus raw sequences that decode badly. */
export function percentEncode(value: string): string {
  return Array.from(Buffer.from(value, 'utf8'))
    .map((byte) => {
      const ch = String.fromCharCode(byte);
      return /[A-Za-z0-9\-._~]/.test(ch)
        ? ch
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

export const urlPart: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: anyString.map(percentEncode) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '%',
      '%zz',
      '%E0%A4',
      '%ED%A0%80',
      '%C0%AF',
      '%00',
      '+',
      '%2e%2e%2f',
      '..',
      '%25',
    ),
  },
);

/** Header values as a client can put them on the wire: latin1 bytes (UTF-8 shows as such). */
export function headerValue(value: string): string {
  return Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
}

/** ISO 8601 date-times, valid by their grammar, from year 0 to 9999 with any offset. */
export const isoDateTime: fc.Arbitrary<string> = fc
  .record({
    // The ends of the range are where storage breaks: weigh them.
    year: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(0, 1, 9999) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 9999 }) },
    ),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 28 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    offset: fc.oneof(
      fc.constant('Z'),
      fc
        .record({
          sign: fc.constantFrom('+', '-'),
          h: fc.integer({ min: 0, max: 23 }),
          m: fc.constantFrom(0, 30, 59),
        })
        .map(
          ({ sign, h, m }) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`,
        ),
    ),
  })
  .map(
    ({ year, month, day, hour, minute, offset }) =>
      `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00${offset}`,
  );

/** A pagination cursor of the right kind (so it gets past the kind check) with any value. */
export function craftedCursor(kind: string): fc.Arbitrary<string> {
  return fc
    .oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom<unknown>(2 ** 31, 2 ** 53, 1e308, -1, 0.5, '1', null, []),
      },
      { weight: 2, arbitrary: fc.integer({ min: 2 ** 31 - 2, max: 2 ** 31 + 2 }) },
      { weight: 1, arbitrary: fc.integer() },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: anyValue },
    )
    .map((v) => Buffer.from(JSON.stringify({ k: kind, v }) ?? 'null').toString('base64url'));
}

/** Values aimed at what each query key means, and anything at all. */
export function queryValue(key: string, cursorKind: string): fc.Arbitrary<string> {
  const numbers = fc
    .oneof(
      fc.integer().map(String),
      fc.constantFrom('1e3', '0x10', '1.5', '-0', ' 5', 'Infinity', '99999999999999999999'),
    )
    .map(percentEncode);
  const aimed =
    key === 'since'
      ? isoDateTime.map(percentEncode)
      : key === 'cursor'
        ? craftedCursor(cursorKind)
        : key === 'limit'
          ? numbers
          : key.endsWith('_id')
            ? fc.oneof(fc.uuid().map(String), urlPart)
            : urlPart;
  return fc.oneof({ weight: 3, arbitrary: aimed }, { weight: 1, arbitrary: urlPart });
}

export const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=utf-16',
  'application/json;;;',
  'application/jsonx',
  'application/merge-patch+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  '*/*',
];
