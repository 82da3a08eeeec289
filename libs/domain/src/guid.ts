// Lease ids may be sent "in any valid GUID string format" accepted by .NET's Guid(String), so this is
// a port of that parser's observable behaviour (dotnet/runtime Guid.TryParseGuid), quirks included:
// Azure compares the parsed value, and a stricter parser would reject requests Azure accepts.

interface GuidFields {
  a: number; // uint32
  b: number; // uint16
  c: number; // uint16
  bytes: number[]; // 8 bytes
}

// .NET char.IsWhiteSpace: U+0009–U+000D, U+0085 and the Zs/Zl/Zp categories. Not String.prototype.trim,
// which also strips U+FEFF and keeps U+0085.
const WHITESPACE = '\\t\\n\\v\\f\\r\\u0085\\p{Zs}\\u2028\\u2029';
const EDGE_WHITESPACE = new RegExp(`^[${WHITESPACE}]+|[${WHITESPACE}]+$`, 'gu');
const ANY_WHITESPACE = new RegExp(`[${WHITESPACE}]`, 'gu');
const STRICT_HEX = /^[0-9a-fA-F]+$/;
/** The D form as the SDKs send it: parsed by lowercasing, without the general parser's work on every lease request. */
const PLAIN_D = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function parseGuid(input: string): string | undefined {
  if (PLAIN_D.test(input)) return input.toLowerCase();
  const s = input.replace(EDGE_WHITESPACE, '');
  if (s === '') return undefined;
  let fields: GuidFields | undefined;
  // Same dispatch as .NET: the first character and the presence of a '-' pick the format.
  if (s[0] === '(') fields = parseWrappedD(s, '(', ')');
  else if (s[0] === '{') fields = s.includes('-') ? parseWrappedD(s, '{', '}') : parseX(s);
  else fields = s.includes('-') ? parseD(s) : parseN(s);
  return fields && format(fields);
}

function format({ a, b, c, bytes }: GuidFields): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
  const tail = bytes.map((x) => hex(x, 2));
  return `${hex(a, 8)}-${hex(b, 4)}-${hex(c, 4)}-${tail.slice(0, 2).join('')}-${tail.slice(2).join('')}`;
}

function strictHex(s: string): number | undefined {
  return STRICT_HEX.test(s) ? parseInt(s, 16) : undefined;
}

/**
 * .NET's TryParseHex: an optional '+', then an optional "0x"/"0X", then hex digits. Leading zeros do
 * not count, more than 8 significant digits overflows 32 bits and fails, and an empty remainder
 * parses as 0, as in .NET.
 */
function parseHex(s: string): number | undefined {
  let i = 0;
  if (s[i] === '+') i++;
  if (s.length - i > 1 && s[i] === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) i += 2;
  while (s[i] === '0') i++;
  const digits = s.slice(i);
  if (digits === '') return 0;
  return digits.length <= 8 ? strictHex(digits) : undefined;
}

function parseN(s: string): GuidFields | undefined {
  if (s.length !== 32 || !STRICT_HEX.test(s)) return undefined;
  const [a, bc, defg, hijk] = [0, 8, 16, 24].map((i) => parseInt(s.slice(i, i + 8), 16));
  return { a, b: bc >>> 16, c: bc & 0xffff, bytes: [...bigEndian(defg, 4), ...bigEndian(hijk, 4)] };
}

function parseWrappedD(s: string, open: string, close: string): GuidFields | undefined {
  if (s.length !== 38 || s[0] !== open || s[37] !== close) return undefined;
  return parseD(s.slice(1, 37));
}

/**
 * The dashed form. Each fixed-width group (except the last 8 digits) may start with "+", "0x" or
 * "+0x" as long as the group keeps its width ("+0x4" is a valid 4-digit group) — a .NET compat quirk.
 */
function parseD(s: string): GuidFields | undefined {
  if (s.length !== 36 || s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') return undefined;
  const groups = [s.slice(0, 8), s.slice(9, 13), s.slice(14, 18), s.slice(19, 23), s.slice(24, 28)].map(parseHex);
  const last = strictHex(s.slice(28, 36));
  if (groups.some((g) => g === undefined) || last === undefined) return undefined;
  const [a, b, c, de, fg] = groups as number[];
  return { a, b, c, bytes: [...bigEndian(de, 2), ...bigEndian(fg, 2), ...bigEndian(last, 4)] };
}

function bigEndian(value: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => Math.floor(value / 256 ** (count - 1 - i)) % 256);
}

/**
 * The X form {0xa,0xb,0xc,{0xd,0xe,0xf,0xg,0xh,0xi,0xj,0xk}}. As in .NET: whitespace anywhere is
 * ignored; groups may be shorter than their width and carry extra leading zeros; the 16-bit groups
 * only fail on 32-bit overflow and are otherwise truncated to their low 16 bits; byte groups must be
 * at most 0xff.
 */
function parseX(raw: string): GuidFields | undefined {
  const s = raw.replace(ANY_WHITESPACE, '');
  if (s[0] !== '{') return undefined;
  let pos = 1;
  // Reads "0x<number><terminator>" at pos and leaves pos after the terminator.
  const next = (terminator: string): number | undefined => {
    if (!(s[pos] === '0' && (s[pos + 1] === 'x' || s[pos + 1] === 'X'))) return undefined;
    const start = pos + 2;
    const end = s.indexOf(terminator, start);
    if (end <= start) return undefined;
    pos = end + 1;
    return parseHex(s.slice(start, end));
  };
  const a = next(',');
  const b = next(',');
  const c = next(',');
  if (a === undefined || b === undefined || c === undefined || s[pos] !== '{') return undefined;
  pos++;
  const bytes: number[] = [];
  for (let i = 0; i < 8; i++) {
    const byte = next(i < 7 ? ',' : '}');
    if (byte === undefined || byte > 0xff) return undefined;
    bytes.push(byte);
  }
  if (s[pos] !== '}' || pos !== s.length - 1) return undefined;
  return { a, b: b & 0xffff, c: c & 0xffff, bytes };
}
