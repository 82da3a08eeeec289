import fc from 'fast-check';
import { parseGuid } from './guid';

const D = '1f812371-a41d-49e6-b123-f4b542e851c5';

describe('parseGuid', () => {
  describe('accepts every .NET Guid(String) format and returns the lowercase D form', () => {
    test.each([
      ['N', '1f812371a41d49e6b123f4b542e851c5', D],
      ['N upper case', '1F812371A41D49E6B123F4B542E851C5', D],
      ['D', D, D],
      ['D upper case', D.toUpperCase(), D],
      ['B', `{${D}}`, D],
      ['P', `(${D})`, D],
      ['X', '{0x1f812371,0xa41d,0x49e6,{0xb1,0x23,0xf4,0xb5,0x42,0xe8,0x51,0xc5}}', D],
      ['X with upper-case 0X prefixes', '{0X1F812371,0XA41D,0X49E6,{0XB1,0X23,0XF4,0XB5,0X42,0XE8,0X51,0XC5}}', D],
      [
        'X with short groups',
        '{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}',
        '00000001-0002-0003-0405-060708090a0b',
      ],
      ['X with whitespace anywhere', '{ 0x1f81 2371 ,0xa41d,\t0x49e6,{0xb1,0x23,0xf4,0xb5,0x42,0xe8,0x51,0xc5} }', D],
      [
        'X with more leading zeros than the width',
        '{0x00000000001,0x00002,0x3,{0x0004,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}',
        '00000001-0002-0003-0405-060708090a0b',
      ],
      [
        'X with a "+" after 0x',
        '{0x+1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}',
        '00000001-0002-0003-0405-060708090a0b',
      ],
      [
        'X 16-bit group over 4 digits is truncated (.NET quirk)',
        '{0x1,0x12345,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}',
        '00000001-2345-0003-0405-060708090a0b',
      ],
      ['D with leading and trailing spaces', `  ${D}\t`, D],
      ['B with leading newline', `\n{${D}}`, D],
      ['D surrounded by U+0085 and U+3000 (.NET whitespace)', `\u0085${D}\u3000`, D],
      [
        'D with "0x" / "+" prefixed groups of the same width',
        '0x812371-0x1d-+0x6-+b12-0x23f4b542e8',
        '00812371-001d-0006-0b12-0023f4b542e8',
      ],
      ['B with "+0x" group', '{+0x12371-a41d-49e6-b123-f4b542e851c5}', '00012371-a41d-49e6-b123-f4b542e851c5'],
    ])('%s: %j', (_label, input, expected) => {
      expect(parseGuid(input)).toBe(expected);
    });
  });

  describe('rejects malformed input', () => {
    test.each([
      ['empty', ''],
      ['only whitespace', '   '],
      ['N too short', '1f812371a41d49e6b123f4b542e851c'],
      ['N too long', '1f812371a41d49e6b123f4b542e851c50'],
      ['N with a non-hex char', '1f812371a41d49e6b123f4b542e851cg'],
      ['N with a 0x prefix', '0x1f812371a41d49e6b123f4b542e851'],
      ['D too short', '1f812371-a41d-49e6-b123-f4b542e851c'],
      ['D too long', '1f812371-a41d-49e6-b123-f4b542e851c55'],
      ['D with a non-hex char', '1f812371-a41d-49e6-b123-f4b542e851cz'],
      ['D with a misplaced dash', '1f81237-1a41d-49e6-b123-f4b542e851c5'],
      ['D with a too-long first group', '1f8123711-a41d-49e6-b123-f4b542e851c5'],
      ['D with a group that grows with its 0x prefix', '1f812371-0xa41d-49e6-b123-f4b542e851'],
      ['D with 0x in the last 8 digits', '1f812371-a41d-49e6-b123-f4b50x4851c5'],
      ['D with inner whitespace', '1f812371-a41d-49e6-b123-f4b542e851 5'],
      ['B missing closing brace', `{${D}`],
      ['B with mismatched closer', `{${D})`],
      ['P with mismatched closer', `(${D}}`],
      ['P without opener', `${D})`],
      ['B with extra char', `{${D}}}`],
      ['surrounded by BOM (not .NET whitespace)', `\ufeff${D}`],
      ['X byte group over 0xff', '{0x1,0x2,0x3,{0x100,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}'],
      ['X first group over 32 bits', '{0x123456789,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}'],
      ['X 16-bit group over 32 bits', '{0x1,0x123456789,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}'],
      ['X group without 0x', '{0x1,2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}'],
      ['X empty group', '{0x1,,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}'],
      ['X with only 7 bytes', '{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa}}'],
      ['X with 9 bytes', '{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb,0xc}}'],
      ['X missing final brace', '{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}'],
      ['X with junk after the end', '{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}}x'],
      ['X with a non-hex digit', '{0x1,0x2,0x3,{0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xg}}'],
      ['X without inner brace', '{0x1,0x2,0x3,0x4,0x5,0x6,0x7,0x8,0x9,0xa,0xb}'],
      ['not a guid', 'lease'],
    ])('%s: %j', (_label, input) => {
      expect(parseGuid(input)).toBeUndefined();
    });
  });

  it('reads every format of any GUID back to the same D form', () => {
    fc.assert(
      fc.property(fc.uuid(), (d) => {
        const n = d.replace(/-/g, '');
        const hex = (from: number, to: number) => `0x${n.slice(from, to)}`;
        const bytes = Array.from({ length: 8 }, (_, i) => hex(16 + 2 * i, 18 + 2 * i));
        const x = `{${hex(0, 8)},${hex(8, 12)},${hex(12, 16)},{${bytes.join(',')}}}`;
        for (const form of [d, d.toUpperCase(), n, `{${d}}`, `(${d})`, x]) expect(parseGuid(form)).toBe(d);
      }),
    );
  });
});
