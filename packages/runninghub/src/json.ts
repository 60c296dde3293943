// A JSON string literal, or a bare integer of 16+ digits standing as a whole value (not the
// fraction or exponent of a float). Strings are matched first so that digits inside them
// (promptTips, messages) are left alone.
const STRING_OR_BIG_INTEGER = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])(-?\d{16,})(?=\s*(?:[,}\]]|$))/g;

/**
 * JSON.parse that keeps integers of 16 or more digits as strings. Task ids are decimal numbers
 * above 2^53; if upstream ever sends one unquoted, a plain JSON.parse would round it to a
 * different task. No value that long is a quantity we compute with, so quoting loses nothing.
 * (Node 20 has no JSON.parse source-text access, hence the lexical pre-pass.)
 */
export function parseJsonKeepingBigIntegers(text: string): unknown {
  return JSON.parse(
    text.replace(STRING_OR_BIG_INTEGER, (match, digits: string | undefined) =>
      digits === undefined ? match : `"${digits}"`,
    ),
  );
}
